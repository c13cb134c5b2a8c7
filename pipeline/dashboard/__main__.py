"""``python -m pipeline.dashboard [--port N] [--build-only] [--rebuild-docs]``."""

from pipeline.dashboard.cli import main

raise SystemExit(main())
