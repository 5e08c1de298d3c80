-- Where each step runs its processes, recorded when it starts: the leader's pid, its
-- process group, and when it started (the runner's own text, so a pid reused after a
-- crash is never taken for the leader). At startup `oored` stops what a crash left
-- running with these (restart recovery). Adding nullable columns rewrites no rows: it
-- takes the same few milliseconds on a database of any size.
ALTER TABLE build_steps ADD COLUMN process_id INTEGER;
ALTER TABLE build_steps ADD COLUMN process_group INTEGER;
ALTER TABLE build_steps ADD COLUMN process_started TEXT;
