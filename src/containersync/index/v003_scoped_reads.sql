-- containersync index, schema version 3: indexes for the reads a targeted cycle makes.
--
-- A daemon cycle for a few changed paths reads only the rows that can bear on them
-- (``containersync.index.scoped``): bases and own uploads by local path (the primary
-- keys), and by the remote object or sandbox path they name (these indexes); cached
-- objects by id (the primary key) and by sandbox path (this index). Without them each
-- lookup was a scan of the mapping's rows, which is what made a cycle cost the tree.
CREATE INDEX bases_remote_id ON bases (mapping, remote_id);
CREATE INDEX bases_remote_path ON bases (mapping, remote_path);
CREATE INDEX own_uploads_path ON own_uploads (mapping, path);
CREATE INDEX upload_paths_path ON upload_paths (mapping, path);
CREATE INDEX remote_cache_path ON remote_cache (mapping, remote_path);

-- not_nfc: the cached object's sandbox path is not in NFC, so the local path it maps to
-- (NFC) is not found by its sandbox path. A targeted cycle reads these objects always
-- (there are normally none). Rows cached before this version are marked when their path
-- is not plain ASCII: a superset, which only costs reading a few rows more.
ALTER TABLE remote_cache ADD COLUMN not_nfc INTEGER NOT NULL DEFAULT 0 CHECK (not_nfc IN (0, 1));
UPDATE remote_cache SET not_nfc = 1 WHERE remote_path GLOB '*[^ -~]*';
CREATE INDEX remote_cache_not_nfc ON remote_cache (mapping) WHERE not_nfc = 1;
