"""One module per subcommand; see ``containersync.cli``."""
