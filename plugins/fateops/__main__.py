"""`python -m fateops` is the `fateops` command."""

import sys

from fateops.cli import main

sys.exit(main())
