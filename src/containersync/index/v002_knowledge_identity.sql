-- containersync index, schema version 2: knowledge and identity.
--
-- known_objects: every container file object a finished decision has taken into account,
-- by the path it maps to. "Order by knowledge, not by clocks": an object at a path that is
-- not ours and is not known here is a remote change whatever its created_at; a known one
-- that is not the base's object was superseded and is never a version to restore.
-- Forgotten with the container (a new generation) and when a full listing no longer has it.
CREATE TABLE known_objects (
    mapping  TEXT NOT NULL REFERENCES mappings(name) ON DELETE CASCADE,
    file_id  TEXT NOT NULL,
    path     TEXT NOT NULL,
    PRIMARY KEY (mapping, file_id)
) STRICT;

-- An index written by schema 1 knew "seen" as "in the cached listing": those objects were
-- all decided on by an earlier run, so they start as known (path unknown: ''). Without
-- this, every older object beside one of ours would look new after the upgrade.
INSERT INTO known_objects (mapping, file_id, path)
    SELECT mapping, file_id, '' FROM remote_cache;

-- upload_paths: every sandbox path an upload of ours landed at in this generation, and the
-- local path it stood for. The assistant may rewrite a file at that path after our object
-- there was superseded or deleted: the rewrite still stands for the same local path (not
-- for a stray "<hex>-name" file). Forgotten with the container (a new generation).
CREATE TABLE upload_paths (
    mapping      TEXT NOT NULL REFERENCES mappings(name) ON DELETE CASCADE,
    remote_path  TEXT NOT NULL,
    path         TEXT NOT NULL,
    PRIMARY KEY (mapping, remote_path)
) STRICT;

-- identity: a mapping's state belongs to its resolved local root, its API endpoint and its
-- container. ``mappings.name`` stays the row's key (the index key); ``display_name`` is the
-- config's handle for it. Rows written by schema 1 have NULL here until claimed.
ALTER TABLE mappings ADD COLUMN display_name TEXT;
ALTER TABLE mappings ADD COLUMN local_root TEXT;
ALTER TABLE mappings ADD COLUMN endpoint TEXT;
