"""``python -m sklearn_lt``: the ``sklearn-lt`` command line."""

import sys

from .cli import main

if __name__ == "__main__":  # pragma: no branch
    sys.exit(main())
