-- Stored pipeline configurations (spec 5.2, 5.4). Every save is a new row of
-- pipeline_versions; pipeline_configs says which version builds use now (NULL after a
-- delete, so the history survives and any version can be restored).
CREATE TABLE pipeline_versions (
    repository_id TEXT    NOT NULL REFERENCES repositories (id),
    version       INTEGER NOT NULL CHECK (version >= 1),
    content       TEXT    NOT NULL,
    format        TEXT    NOT NULL CHECK (format IN ('yaml', 'huml')),
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (repository_id, version)
) STRICT;

CREATE TABLE pipeline_configs (
    repository_id   TEXT    NOT NULL PRIMARY KEY REFERENCES repositories (id),
    current_version INTEGER,
    updated_at      INTEGER NOT NULL,
    FOREIGN KEY (repository_id, current_version) REFERENCES pipeline_versions (repository_id, version)
) STRICT;
