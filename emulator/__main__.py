"""`python -m emulator ...`: the same as the `webhook-emulator` command."""

import sys

from emulator.cli import main

sys.exit(main())
