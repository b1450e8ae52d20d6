from containersync.cli import main

raise SystemExit(main())
