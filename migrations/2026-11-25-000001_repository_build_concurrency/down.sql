ALTER TABLE repositories DROP COLUMN build_concurrency;
