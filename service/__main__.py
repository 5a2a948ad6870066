"""`python -m service` is the `kumo` command."""

from service.cli import main

main()
