"""`python -m fateops` is the `fateops` command."""

import sys

from fateops.cli import main

if __name__ == "__main__":
    sys.exit(main())
