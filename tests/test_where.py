"""``python -m memcg_edu where`` and the index of docs/kernel-rules.md:
complete (every mirrored function is there) and current (lines match)."""
from __future__ import annotations

import importlib
import inspect
import re

import pytest

from memcg_edu.cli import main
from memcg_edu.cli.where import RULES, doc_with_index
from memcg_edu.model.index import MODULES, build_index, lookup

#: kernel functions a reader of mm/memcontrol.c will look up first
MUST = {"try_charge": "3.17", "mem_cgroup_try_charge": "3.17",
        "mem_cgroup_commit_charge": "3.17", "mem_cgroup_cancel_charge": "3.17",
        "mem_cgroup_uncharge": "3.17", "mem_cgroup_uncharge_list": "3.17",
        "mem_cgroup_migrate": "3.17", "mem_cgroup_swapout": "3.17",
        "mem_cgroup_uncharge_swap": "3.17", "mem_cgroup_page_lruvec": "3.17",
        "mem_cgroup_move_account": "3.16", "mem_cgroup_reclaim": "3.17",
        "mem_cgroup_oom": "3.17", "mem_cgroup_oom_synchronize": "3.17",
        "mem_cgroup_out_of_memory": "3.17", "oom_badness": "3.17",
        "consume_stock": "3.17", "refill_stock": "3.17",
        "mem_cgroup_charge_anon": "3.16", "mem_cgroup_uncharge_page": "3.16",
        "mem_cgroup_prepare_migration": "3.16", "shmem_free_swap": "3.17",
        "swap_entry_free": "3.17", "do_swap_page": "3.17"}


def test_where_prints_model_function_line_and_kernel_source(capsys):
    assert main(["where", "mem_cgroup_migrate"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("mem_cgroup_migrate (mm/memcontrol.c, Linux 3.17): "
                          "memcg_edu.model.memcontrol.mem_cgroup_migrate at "
                          "memcg_edu/model/memcontrol.py:")
    assert out.endswith("https://elixir.bootlin.com/linux/v3.17/A/ident/mem_cgroup_migrate")


def test_where_unknown_name_is_one_line_with_suggestions(capsys):
    assert main(["where", "mem_cgroup_migrat"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "did you mean mem_cgroup_migrate" in err


@pytest.mark.parametrize("name,design", sorted(MUST.items()))
def test_the_functions_a_reader_looks_for_are_indexed(name, design):
    assert design in {e.design for e in lookup(name)}


def test_every_line_points_at_the_def_and_every_entry_has_a_file():
    for e in build_index():
        mod_name, func = e.model.split(".")
        lines = inspect.getsourcelines(
            importlib.import_module(f"memcg_edu.model.{mod_name}"))[0]
        assert lines[e.line - 1].lstrip().startswith(f"def {func}("), e
        assert e.file and re.fullmatch(r"[\w/.-]+\.[ch]", e.file), e


def test_every_public_function_named_after_the_kernel_is_indexed():
    """A model function carrying a kernel function's name mirrors it."""
    indexed = {(e.model, e.kernel) for e in build_index()}
    for mod_name in MODULES:
        mod = importlib.import_module(f"memcg_edu.model.{mod_name}")
        for name in getattr(mod, "__all__", ()):
            fn = getattr(mod, name)
            if (inspect.isfunction(fn) and fn.__module__ == mod.__name__
                    and name.startswith(("mem_cgroup_", "oom_"))):
                assert (f"{mod_name}.{name}", name) in indexed, name


def test_the_index_in_the_rules_document_is_current():
    text = RULES.read_text(encoding="utf-8")
    assert doc_with_index(text) == text, (
        "docs/kernel-rules.md's index is stale: run "
        "python -m memcg_edu where --update-doc")
    assert text.count("\n| `") == len(build_index())
