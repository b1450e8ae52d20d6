-- containersync index, schema version 5: which cached objects a listing returned.
--
-- remote_cache.listed: 1 for an object a listing returned, 0 for an upload of ours recorded
-- as it landed and not listed yet. The incremental listing stops at the first *listed*
-- object: stopping at our upload would hide what the sandbox wrote just before it (it can
-- sort below the upload), while leaving the upload out of the cache would make a targeted
-- cycle take it for deleted until a listing shows it (the live service orders same-second
-- objects its own way). Rows from before this version were all listed.
ALTER TABLE remote_cache ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;
