-- containersync index, schema version 4: the container manifest and keep-alive accounting.
--
-- manifests: the manifest object this program keeps in the mapping's container (see
-- containersync.model.manifest): its id, the sandbox path the server gave it, and the
-- sha256 of what it says. At most one row per mapping. Forgotten with the container (a new
-- generation).
CREATE TABLE manifests (
    mapping      TEXT PRIMARY KEY REFERENCES mappings(name) ON DELETE CASCADE,
    file_id      TEXT NOT NULL,
    remote_path  TEXT NOT NULL,
    sha256       TEXT NOT NULL
) STRICT;

-- keepalive_days: per mapping and UTC day (YYYY-MM-DD), how many keep-alives the daemon
-- sent and how long they kept the container alive beyond its last activity (seconds), and
-- when the last one was sent (unix seconds). Kept across generations: it is what the user
-- paid for, whichever container it was.
CREATE TABLE keepalive_days (
    mapping     TEXT NOT NULL REFERENCES mappings(name) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    keepalives  INTEGER NOT NULL DEFAULT 0,
    seconds     REAL NOT NULL DEFAULT 0,
    last_at     REAL,
    PRIMARY KEY (mapping, day)
) STRICT;
