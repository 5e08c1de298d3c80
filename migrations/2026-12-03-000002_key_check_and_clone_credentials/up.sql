-- Storage isolation (issue 10): the encryption key check, clone URL credentials kept
-- out of the URL, and the scratch table of the write probe. Only additions: no table is
-- rebuilt and no row is copied, so this takes milliseconds on a database of any size.

-- One value sealed with ENCRYPTION_KEY (associated data `key_check\0sealed\01`), created
-- by the first start on this database once the key opened a secret already stored here
-- (if any). A start whose key cannot open it refuses to run.
CREATE TABLE key_check (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- The user info of a clone URL (`user:token` of https://user:token@host/...), sealed and
-- bound to (repositories, clone_credentials, id); clone_url itself never holds
-- credentials. URLs stored before this migration still do: the SQL has no key, so
-- oored seals them at its next start and overwrites the old text (secure_delete).
ALTER TABLE repositories ADD COLUMN clone_credentials BLOB;

-- Rows of the write probe behind /api/health: inserted and deleted in one transaction
-- after a write failed, to see whether the database takes writes again. Always empty.
CREATE TABLE storage_probe (
    id  INTEGER NOT NULL PRIMARY KEY,
    pad BLOB    NOT NULL
) STRICT;
