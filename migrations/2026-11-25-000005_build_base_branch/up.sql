-- The target branch of pull/merge request builds (CM_PULL_REQUEST_DEST, and workflow
-- selection by target-branch patterns), and the lookup of an event's builds, which
-- makes processing a webhook event twice reuse its builds instead of creating more.
ALTER TABLE builds ADD COLUMN base_branch TEXT;

CREATE INDEX builds_by_webhook_event ON builds (webhook_event_id, id)
    WHERE webhook_event_id IS NOT NULL;
