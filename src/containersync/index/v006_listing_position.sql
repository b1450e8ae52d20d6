-- containersync index, schema version 6: where each cached object stood in the listing.
--
-- remote_cache.position: the object's place in the container's listing (oldest first, the
-- server's order), from the last full listing or, for what an incremental listing found
-- since, after every other. Positions only grow along the listing; they need not be
-- dense (a deletion leaves a hole, so a full listing rewrites only what changed). NULL for
-- an upload of ours not listed yet and for rows from before this version. A full listing
-- picks its segment cursors from these positions (containersync.api.segmented); a wrong
-- position can only cost requests, never change what the listing returns.
ALTER TABLE remote_cache ADD COLUMN position INTEGER;
CREATE INDEX remote_cache_position ON remote_cache (mapping, position)
    WHERE position IS NOT NULL;
