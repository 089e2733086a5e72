"""`python -m pydrant ...` runs the command line."""

from pydrant.cli import main

raise SystemExit(main())
