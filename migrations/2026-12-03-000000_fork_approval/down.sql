-- Back to the previous schema: events awaiting approval become 'ignored' (with their
-- reason), approvals and received sizes are dropped. Same rebuild as up.sql.
CREATE TABLE webhook_events_old (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    provider      TEXT    NOT NULL CHECK (provider IN ('github', 'gitlab')),
    delivery_id   TEXT    NOT NULL,
    event_type    TEXT    NOT NULL,
    repository_id TEXT    REFERENCES repositories (id),
    status        TEXT    NOT NULL
        CHECK (status IN ('received', 'processed', 'ignored', 'failed', 'rejected')),
    reason        TEXT,
    source_ip     TEXT,
    received_at   INTEGER NOT NULL,
    processed_at  INTEGER,
    build_ids     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(build_ids)),
    headers       TEXT    NOT NULL CHECK (json_valid(headers)),
    payload       BLOB    NOT NULL
) STRICT;
INSERT INTO webhook_events_old (id, provider, delivery_id, event_type, repository_id,
        status, reason, source_ip, received_at, processed_at, build_ids, headers, payload)
    SELECT id, provider, delivery_id, event_type, repository_id,
        CASE status WHEN 'awaiting_approval' THEN 'ignored' ELSE status END,
        reason, source_ip, received_at, processed_at, build_ids, headers, payload
    FROM webhook_events;
CREATE TABLE webhook_deliveries_kept AS SELECT * FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_old RENAME TO webhook_events;
CREATE INDEX webhook_events_by_status ON webhook_events (status, id);
CREATE INDEX webhook_events_by_repository ON webhook_events (repository_id, id);
CREATE INDEX webhook_events_by_provider ON webhook_events (provider, id);
CREATE INDEX webhook_events_by_event_type ON webhook_events (event_type, id);
CREATE TABLE webhook_deliveries (
    provider    TEXT    NOT NULL CHECK (provider IN ('github', 'gitlab')),
    delivery_id TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    event_id    TEXT    NOT NULL REFERENCES webhook_events (id),
    PRIMARY KEY (provider, delivery_id)
) STRICT, WITHOUT ROWID;
INSERT INTO webhook_deliveries (provider, delivery_id, received_at, event_id)
    SELECT provider, delivery_id, received_at, event_id FROM webhook_deliveries_kept;
DROP TABLE webhook_deliveries_kept;
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (received_at);

ALTER TABLE repositories DROP COLUMN fork_pull_requests;
