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

-- identity: a mapping's state belongs to its resolved local root, its API endpoint and its
-- container. ``mappings.name`` stays the row's key (the index key); ``display_name`` is the
-- config's handle for it. Rows written by schema 1 have NULL here until claimed.
ALTER TABLE mappings ADD COLUMN display_name TEXT;
ALTER TABLE mappings ADD COLUMN local_root TEXT;
ALTER TABLE mappings ADD COLUMN endpoint TEXT;
