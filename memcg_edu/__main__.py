"""``python -m memcg_edu``: see memcg_edu.cli."""
import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line is still loading
    sys.stderr.write("interrupted\n")
    sys.exit(130)

sys.exit(main())
