-- containersync index, schema version 8: a digest of what a cycle that planned nothing saw.
--
-- mappings.quiet_digest: set by a full cycle of a whole, unchanged tree whose plan was empty
-- (``engine.quiet``): a digest of its listing's digest, the rules, the settings planning
-- reads and the tree's folders. Planning is a pure function of the index's bases, own
-- uploads, digests, upload paths, cached listing and known objects, and of the scan; a
-- later full cycle whose listing and scan give the same digest, with none of those rows
-- written since, would plan nothing again, and skips planning. Any write to those tables,
-- or to the listing digest (which the cache's and the known objects' writes clear), by any
-- stage or version, clears it (the triggers below): a digest that is set always describes
-- what the tables hold.
ALTER TABLE mappings ADD COLUMN quiet_digest TEXT;

CREATE TRIGGER bases_added_clears_quiet AFTER INSERT ON bases
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name = NEW.mapping AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER bases_changed_clears_quiet AFTER UPDATE ON bases
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name IN (OLD.mapping, NEW.mapping) AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER bases_removed_clears_quiet AFTER DELETE ON bases
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name = OLD.mapping AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER own_uploads_added_clears_quiet AFTER INSERT ON own_uploads
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name = NEW.mapping AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER own_uploads_changed_clears_quiet AFTER UPDATE ON own_uploads
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name IN (OLD.mapping, NEW.mapping) AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER own_uploads_removed_clears_quiet AFTER DELETE ON own_uploads
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name = OLD.mapping AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER digests_added_clears_quiet AFTER INSERT ON digests
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name = NEW.mapping AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER digests_changed_clears_quiet AFTER UPDATE ON digests
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name IN (OLD.mapping, NEW.mapping) AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER digests_removed_clears_quiet AFTER DELETE ON digests
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name = OLD.mapping AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER upload_paths_added_clears_quiet AFTER INSERT ON upload_paths
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name = NEW.mapping AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER upload_paths_changed_clears_quiet AFTER UPDATE ON upload_paths
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name IN (OLD.mapping, NEW.mapping) AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER upload_paths_removed_clears_quiet AFTER DELETE ON upload_paths
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name = OLD.mapping AND quiet_digest IS NOT NULL;
END;

CREATE TRIGGER listing_digest_changed_clears_quiet AFTER UPDATE OF listing_digest ON mappings
    WHEN OLD.listing_digest IS NOT NEW.listing_digest
BEGIN
    UPDATE mappings SET quiet_digest = NULL
        WHERE name = NEW.name AND quiet_digest IS NOT NULL;
END;
