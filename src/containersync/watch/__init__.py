"""watch: local filesystem events -> debounced dirty paths for the daemon.

- ``coalesce.Coalescer``: pure debouncer (quiet period, max wait, parent folding,
  ``FULL_RESCAN``).
- ``dirty.DirtyPaths``: the Coalescer behind a lock, fed by watcher callbacks, drained by
  the mapping's turns with ``take_due`` (``on_change`` wakes the mapping when a batch is
  due).
- ``observer.LocalWatcher``: watchdog (inotify, or polling as a fallback) -> relative dirty
  paths; own-write suppression (``own_writes``); lost-event and watch-limit reporting
  (``inotify_hooks``).
- ``shared.SharedInotify``: the daemon's one inotify instance and one emitter thread for
  every root.
"""
