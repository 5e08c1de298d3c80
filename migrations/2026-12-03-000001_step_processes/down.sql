ALTER TABLE build_steps DROP COLUMN process_started;
ALTER TABLE build_steps DROP COLUMN process_group;
ALTER TABLE build_steps DROP COLUMN process_id;
