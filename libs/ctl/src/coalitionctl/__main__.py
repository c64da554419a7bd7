"""`python -m coalitionctl` (the image's entrypoint is `python -m`): the same as the console script."""

from coalitionctl.main import main

main()
