"""Reading user files and writing outputs without surprises.

Not a kernel file. Every file a user names (a scenario, a saved timeline,
a plot overlay) is read through ``read_json``: only a regular file is
opened (a FIFO, /dev/zero or a directory is refused after an open that
cannot block), a hard byte limit is enforced while reading (a file that
grows is stopped at the limit, not trusted by its size), the text must be
UTF-8, and the JSON must be plain: no duplicate keys, no integer literal of
more than ``MAX_INT_DIGITS`` digits, no lone surrogate, no nesting deeper
than Python can parse. Each problem is one ``ModelUsageError`` line
(or the caller's error class) naming the file and the key.

Outputs: ``check_output`` refuses, before any work is done, a path whose
folder is missing or not writable, that is a directory, a symlink or a
kernel file (/proc, /sys, /dev), or that exists (without ``force``);
``write_atomic`` writes a temp file in the same folder (O_EXCL, never
through a symlink) and renames it over the target.
"""
from __future__ import annotations

import html
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import ModelUsageError

__all__ = ["MAX_INT_DIGITS", "exists", "read_bytes", "read_text", "read_json", "parse_json",
           "check_output", "write_atomic", "printable", "capped_names"]

#: Longest integer literal a file may hold (a page count needs 20 at most).
MAX_INT_DIGITS = 40
_CHUNK = 1 << 16
_KERNEL_DIRS = (Path("/proc"), Path("/sys"), Path("/dev"))

Fail = Callable[[str], Exception]


def _default_fail(path: str | Path) -> Fail:
    return lambda msg: ModelUsageError(f"{path}: {msg}")


def exists(path: str | Path) -> bool:
    """Path.exists, False also for a name no file can have (too long, a NUL
    byte, a lone surrogate) instead of an exception."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def read_bytes(path: str | Path, limit: int, fail: Fail | None = None) -> bytes:
    """The bytes of regular file ``path``, at most ``limit`` of them.

    O_NONBLOCK keeps the open of a FIFO with no writer from hanging; fstat
    then refuses anything but a regular file; the limit is checked on every
    read, so a file that grows while we read is cut off, not swallowed.
    """
    fail = fail or _default_fail(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except IsADirectoryError:
        raise fail("is a directory; give a file") from None
    except OSError as e:
        raise fail(f"cannot read the file: {e.strerror}") from None
    except ValueError:   # a NUL byte or a lone surrogate in the name
        raise fail("not a possible file name") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise fail("is a directory; give a file")
        if not stat.S_ISREG(st.st_mode):
            raise fail("is not a regular file (a device, FIFO or socket); "
                       "give a file")
        if st.st_size > limit:
            raise fail(f"the file is {st.st_size} bytes, more than the "
                       f"limit of {limit} bytes")
        parts, total = [], 0
        while True:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise fail(f"the file grew past the limit of {limit} bytes "
                           f"while being read")
            parts.append(chunk)
        return b"".join(parts)
    except OSError as e:
        raise fail(f"cannot read the file: {e.strerror}") from None
    finally:
        os.close(fd)


def _no_duplicates(fail: Fail) -> Callable[[list[tuple[str, Any]]], dict]:
    def hook(pairs: list[tuple[str, Any]]) -> dict:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise fail(f"duplicate key {printable(json.dumps(k))} in one "
                           f"object (JSON would keep only the last)")
            out[k] = v
        return out
    return hook


def _int_capped(fail: Fail) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise fail(f"an integer of {len(text.lstrip('-'))} digits "
                       f"(\"{text[:12]}...\"); at most {MAX_INT_DIGITS} "
                       f"digits are accepted")
        return int(text)
    return parse


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE = re.compile("[\ud800-\udfff]")


def _find_lone_surrogate(data: Any, where: str = "") -> str | None:
    """Where the first string holding a lone surrogate is, or None."""
    if isinstance(data, str):
        return where or "(top level)" if _LONE.search(data) else None
    if isinstance(data, dict):
        for k, v in data.items():
            here = f"{where}.{k}" if where else str(k)
            if _LONE.search(k):
                return here
            found = _find_lone_surrogate(v, here)
            if found:
                return found
    if isinstance(data, list):
        for i, v in enumerate(data):
            found = _find_lone_surrogate(v, f"{where}[{i}]")
            if found:
                return found
    return None


def parse_json(text: str, fail: Fail) -> Any:
    """json.loads with the checks of this module (see the docstring)."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates(fail),
                          parse_int=_int_capped(fail))
    except json.JSONDecodeError as e:
        raise fail(f"not valid JSON: {e.msg} at line {e.lineno}, column "
                   f"{e.colno}") from None
    except RecursionError:
        raise fail("not valid JSON: nested too deeply") from None
    # only a \\uD800-\\uDFFF escape can make one: check when there is one
    if _SURROGATE_ESCAPE.search(text):
        where = _find_lone_surrogate(data)
        if where:
            raise fail(f"{printable(where)}: a lone surrogate escape "
                       f"(\\ud800-\\udfff) is not text")
    return data


def read_text(path: str | Path, limit: int, fail: Fail | None = None) -> str:
    """``read_bytes`` decoded as UTF-8 (a one-line error if it is not)."""
    fail = fail or _default_fail(path)
    raw = read_bytes(path, limit, fail)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(f"not UTF-8 text (byte 0x{raw[e.start]:02x} at offset "
                   f"{e.start})") from None


def read_json(path: str | Path, limit: int, fail: Fail | None = None) -> Any:
    """Read and parse a JSON file safely (see the module docstring)."""
    fail = fail or _default_fail(path)
    text = read_text(path, limit, fail)
    if not text.strip():
        raise fail("the file is empty")
    return parse_json(text, fail)


def check_output(path: str | Path, force: bool = False,
                 option: str = "--out") -> Path:
    """Refuse an output path before any work is done (module docstring)."""
    p = Path(path)
    fail: Fail = lambda msg: ModelUsageError(f"{option} {printable(str(p))}: {msg}")
    try:
        os.fsencode(p)
        if "\0" in str(p):
            raise ValueError
    except ValueError:
        raise fail("not a possible file name") from None
    if not str(p) or str(p).endswith(os.sep):
        raise fail("give a file name, not a folder")
    parent = p.parent
    real_parent = Path(os.path.realpath(parent))
    if any(real_parent == d or d in real_parent.parents for d in _KERNEL_DIRS):
        raise fail(f"{real_parent} holds kernel files, not a place for output")
    try:
        is_dir = parent.is_dir()
    except OSError as e:   # EACCES: a folder on the way we may not search
        raise fail(f"folder {parent}: {e.strerror}") from None
    if not is_dir:
        raise fail(f"folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise fail(f"folder {parent} is not writable")
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return p
    except OSError as e:
        raise fail(e.strerror or str(e)) from None
    if stat.S_ISLNK(st.st_mode):
        raise fail("is a symlink; not writing through it (remove it, or "
                   "give another name)")
    if stat.S_ISDIR(st.st_mode):
        raise fail("is a directory; give a file name")
    if not stat.S_ISREG(st.st_mode):
        raise fail("exists and is not a regular file")
    if not force:
        raise fail("exists; add --force to overwrite it")
    return p


def write_atomic(path: str | Path, data: bytes | str | Callable[[Any], None],
                 fail: Fail | None = None, overwrite: bool = True) -> None:
    """Write ``data`` (bytes, text, or a function given the open binary
    file) to a new temp file in ``path``'s folder, then rename it over
    ``path``: a symlink at ``path`` is replaced, never followed, and a
    failure leaves the old file as it was. With ``overwrite`` False the
    file is linked into place instead, which fails if anything has appeared
    at ``path`` since it was checked."""
    p = Path(path)
    fail = fail or _default_fail(p)
    try:
        fd, tmp = tempfile.mkstemp(dir=p.parent or ".", prefix=f".{p.name}.",
                                   suffix=".tmp")
    except OSError as e:
        raise fail(f"cannot write: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if overwrite:
            os.replace(tmp, p)
        else:
            os.link(tmp, p, follow_symlinks=False)
            os.unlink(tmp)
    except FileExistsError:
        os.unlink(tmp)
        raise fail("appeared while we worked; not overwriting it (add "
                   "--force to overwrite)") from None
    except OSError as e:
        os.unlink(tmp)
        raise fail(f"cannot write: {e.strerror}") from None
    except BaseException:
        os.unlink(tmp)
        raise


# C0 and C1 controls except newline and tab, DEL, invisible format and
# bidirectional controls (they reorder what the eye reads), and surrogates
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e"
                     "\u2066-\u2069\ufeff\ud800-\udfff]")


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


#: the ASCII characters _UNSAFE lets through: printable ones, tab, newline
_SAFE_ASCII = bytes(range(0x20, 0x7f)) + b"\t\n"


def printable(text: str) -> str:
    """``text`` with escape sequences and invisible controls shown as
    \\x1b, \\u202e, ...: safe to print to a terminal."""
    # most text is plain ASCII: deleting its safe bytes, in C, leaves
    # nothing (a fifth of the cost of `run`'s output went to the search)
    if text.isascii() and not text.encode("ascii").translate(None, _SAFE_ASCII):
        return text
    return _UNSAFE.sub(_escape, text)


def html_text(text: str, quote: bool = True) -> str:
    """``text`` for an HTML page: escaped for HTML (``html.escape``), with
    escape sequences and invisible controls shown as ``printable`` shows
    them (a browser would hide them, or let a bidi override turn the text
    around)."""
    return html.escape(printable(text), quote)


def capped_names(names: Any, cap: int = 40) -> str:
    """'"a", "b", ... (and N more)': a list of valid names of bounded size."""
    names = [str(n) for n in names]
    shown = ", ".join(f'"{printable(n[:40])}"' for n in names[:cap]) or "none"
    return shown + (f" (and {len(names) - cap} more)" if len(names) > cap else "")
