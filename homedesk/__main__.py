"""`python -m homedesk` is the same as the `homedesk` command."""

from homedesk.cli import main

raise SystemExit(main())
