"""`python -m daemon` is `papertrade`."""

from daemon.cli import main

main()
