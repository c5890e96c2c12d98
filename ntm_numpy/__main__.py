"""``python -m ntm_numpy``: the same command line as ``ntm-numpy``."""
import sys

from .cli import main

sys.exit(main())
