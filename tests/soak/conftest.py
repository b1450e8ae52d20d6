"""The soak drives the daemon with the end-to-end harness (``support.daemon_harness``)."""
