"""Links to the Linux source a learner reads beside the model (elixir.bootlin.com)."""
from __future__ import annotations

__all__ = ["ELIXIR", "source_url", "ident_url"]

ELIXIR = "https://elixir.bootlin.com/linux"


def source_url(path: str, version: str = "v3.17") -> str:
    """Link to ``path`` (e.g. "mm/memcontrol.c") in that Linux release."""
    return f"{ELIXIR}/{version}/source/{path.lstrip('/')}"


def ident_url(name: str, version: str = "v3.17") -> str:
    """Link to where identifier ``name`` (e.g. "mem_cgroup_uncharge") is
    defined and used in that Linux release (elixir's identifier search)."""
    return f"{ELIXIR}/{version}/C/ident/{name}"
