DROP INDEX webhook_deliveries_by_time;
DROP TABLE webhook_deliveries;
DROP INDEX webhook_events_by_event_type;
DROP INDEX webhook_events_by_provider;
DROP INDEX webhook_events_by_repository;
DROP INDEX webhook_events_by_status;
DROP TABLE webhook_events;
ALTER TABLE repositories DROP COLUMN webhook_token_digest;
