-- containersync index, schema version 7: a digest of the listing the cache holds.
--
-- mappings.listing_digest: a digest of the container's id and of every object of the last
-- full listing, in its order (``engine.remote.listing_digest``), set once the cache of the
-- listing, its positions and the known objects were made to agree with that listing. A
-- full listing with the same digest finds the cache already equal to it and compares
-- nothing (at 100,000 files that read and compared every cached row). Any later write to
-- the cache or to the known objects, by any stage or version, clears it (the triggers
-- below): a digest that is set always describes what the two tables hold.
ALTER TABLE mappings ADD COLUMN listing_digest TEXT;

CREATE TRIGGER remote_cache_added_clears_digest AFTER INSERT ON remote_cache
BEGIN
    UPDATE mappings SET listing_digest = NULL
        WHERE name = NEW.mapping AND listing_digest IS NOT NULL;
END;

CREATE TRIGGER remote_cache_changed_clears_digest AFTER UPDATE ON remote_cache
BEGIN
    UPDATE mappings SET listing_digest = NULL
        WHERE name IN (OLD.mapping, NEW.mapping) AND listing_digest IS NOT NULL;
END;

CREATE TRIGGER remote_cache_removed_clears_digest AFTER DELETE ON remote_cache
BEGIN
    UPDATE mappings SET listing_digest = NULL
        WHERE name = OLD.mapping AND listing_digest IS NOT NULL;
END;

CREATE TRIGGER known_objects_added_clears_digest AFTER INSERT ON known_objects
BEGIN
    UPDATE mappings SET listing_digest = NULL
        WHERE name = NEW.mapping AND listing_digest IS NOT NULL;
END;

CREATE TRIGGER known_objects_changed_clears_digest AFTER UPDATE ON known_objects
BEGIN
    UPDATE mappings SET listing_digest = NULL
        WHERE name IN (OLD.mapping, NEW.mapping) AND listing_digest IS NOT NULL;
END;

CREATE TRIGGER known_objects_removed_clears_digest AFTER DELETE ON known_objects
BEGIN
    UPDATE mappings SET listing_digest = NULL
        WHERE name = OLD.mapping AND listing_digest IS NOT NULL;
END;
