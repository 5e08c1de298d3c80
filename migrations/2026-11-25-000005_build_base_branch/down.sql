DROP INDEX builds_by_webhook_event;
ALTER TABLE builds DROP COLUMN base_branch;
