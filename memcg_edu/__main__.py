"""``python -m memcg_edu``: see memcg_edu.cli."""
import sys

from .cli import main

sys.exit(main())
