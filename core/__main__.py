"""`python -m integrate` is the `integrate` command."""

from integrate.cli import main

main()
