"""``python -m homefeed.cli``: the same as the ``homefeed`` command."""

from homefeed.cli import main

main()
