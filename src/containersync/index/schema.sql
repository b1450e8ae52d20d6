-- containersync index, schema version 1.
-- Applied by containersync.index.migrate inside one BEGIN IMMEDIATE transaction that also
-- sets PRAGMA user_version = 1. Later versions are files named vNNN_<what>.sql beside this
-- one; each holds only the difference from the version before it.
-- Times are unix seconds (REAL) handed in by the caller; the index has no clock.

CREATE TABLE mappings (
    name              TEXT PRIMARY KEY,
    container_id      TEXT,
    container_name    TEXT,
    adopted           INTEGER NOT NULL DEFAULT 0 CHECK (adopted IN (0, 1)),
    generation        INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0),
    halt_rail         TEXT,
    halt_reason       TEXT,
    halt_since        REAL,
    last_push         REAL,
    last_pull         REAL,
    last_full_list    REAL,
    rules_fingerprint TEXT,
    summary_json      TEXT
) STRICT;

CREATE TABLE bases (
    mapping           TEXT NOT NULL REFERENCES mappings(name) ON DELETE CASCADE,
    path              TEXT NOT NULL,
    size              INTEGER NOT NULL,
    mtime_ns          INTEGER NOT NULL,
    sha256            TEXT NOT NULL,
    remote_id         TEXT,
    remote_path       TEXT,
    remote_created_at INTEGER,
    source            TEXT,
    PRIMARY KEY (mapping, path)
) STRICT;

CREATE TABLE own_uploads (
    mapping   TEXT NOT NULL REFERENCES mappings(name) ON DELETE CASCADE,
    file_id   TEXT NOT NULL,
    path      TEXT NOT NULL,
    PRIMARY KEY (mapping, file_id)
) STRICT;

CREATE TABLE digests (
    mapping   TEXT NOT NULL REFERENCES mappings(name) ON DELETE CASCADE,
    file_id   TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    PRIMARY KEY (mapping, file_id)
) STRICT;

CREATE TABLE remote_cache (
    mapping     TEXT NOT NULL REFERENCES mappings(name) ON DELETE CASCADE,
    file_id     TEXT NOT NULL,
    remote_path TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    source      TEXT NOT NULL,
    bytes       INTEGER,
    PRIMARY KEY (mapping, file_id)
) STRICT;

CREATE INDEX remote_cache_newest ON remote_cache (mapping, created_at DESC, file_id DESC);

CREATE TABLE conflicts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    mapping    TEXT NOT NULL REFERENCES mappings(name) ON DELETE CASCADE,
    path       TEXT NOT NULL,
    copy_path  TEXT NOT NULL,
    remote_id  TEXT,
    created_at REAL NOT NULL,
    UNIQUE (mapping, copy_path)
) STRICT;

CREATE TABLE problems (
    mapping    TEXT NOT NULL REFERENCES mappings(name) ON DELETE CASCADE,
    path       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_seen  REAL NOT NULL,
    PRIMARY KEY (mapping, path, kind)
) STRICT;

CREATE TABLE intents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    mapping     TEXT NOT NULL REFERENCES mappings(name) ON DELETE CASCADE,
    generation  INTEGER NOT NULL,
    kind        TEXT NOT NULL
                CHECK (kind IN ('create-container', 'upload', 'delete-remote', 'download')),
    path        TEXT,
    sha256      TEXT,
    size        INTEGER,
    remote_path TEXT,
    file_id     TEXT,
    started_at  REAL NOT NULL
) STRICT;
