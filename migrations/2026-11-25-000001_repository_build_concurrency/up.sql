-- Per-repository build concurrency (spec 16.2): 'parallel' lets builds of one repository
-- run side by side, 'serial' queues them behind each other. Existing repositories keep
-- the behaviour they had, parallel.
ALTER TABLE repositories
    ADD COLUMN build_concurrency TEXT NOT NULL DEFAULT 'parallel'
    CHECK (build_concurrency IN ('parallel', 'serial'));
