"""``python -m memcg_edu``: see memcg_edu.cli."""
import sys

from .ctrl_c import ctrl_c_seen, record_ctrl_c

record_ctrl_c()   # first: a Ctrl-C while the rest loads is still known as one

from .quick_exit import INTERRUPTED, exit_process, process_ends  # noqa: E402  (standard library only)

process_ends(True)   # this process ends with the command line

#: Ctrl-Cs that landed in a callback Python runs for itself
_ctrl_c: list = []


def _ctrl_c_in_a_callback(unraisable: "sys.UnraisableHookArgs") -> None:
    """A Ctrl-C that lands in a callback Python runs for itself (the import
    system's module-lock cleanup) is not raised but reported as "Exception
    ignored" with a traceback; keep it instead, so that the run still ends
    with one line."""
    if unraisable.exc_type is KeyboardInterrupt:
        _ctrl_c.append(unraisable.exc_type)
    else:
        sys.__unraisablehook__(unraisable)


sys.unraisablehook = _ctrl_c_in_a_callback
try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line is still loading
    _ctrl_c.append(KeyboardInterrupt)
except Exception:
    # an import that a Ctrl-C broke (a C extension turns it into ImportError)
    if not ctrl_c_seen():
        raise
    _ctrl_c.append(KeyboardInterrupt)
if _ctrl_c:
    sys.stderr.write("interrupted\n")
    exit_process(INTERRUPTED)

exit_process(main(process_ends=True))
