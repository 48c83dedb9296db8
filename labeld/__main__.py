from labeld.cli import main

raise SystemExit(main())
