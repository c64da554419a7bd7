"""`make run`: the embedded development stack (see common.devstack)."""

import sys

from common.devstack import main

if __name__ == "__main__":
    sys.exit(main())
