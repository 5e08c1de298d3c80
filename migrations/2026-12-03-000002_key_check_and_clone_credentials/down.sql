-- Sealed clone credentials are lost: give the clone URLs with their credentials again.
DROP TABLE storage_probe;
ALTER TABLE repositories DROP COLUMN clone_credentials;
DROP TABLE key_check;
