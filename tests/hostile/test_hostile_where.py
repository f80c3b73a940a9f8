"""``where --update-doc`` writes docs/kernel-rules.md of a checkout and
nothing else: an installed copy (no docs/, or a site-packages/docs of some
other package) and symlinks out of docs/ are refused with one line."""
from __future__ import annotations

import pytest

from memcg_edu.cli.where import END, START, update_doc
from memcg_edu.errors import ModelUsageError

DOC = f"# rules\n{START}old table\n{END}\ntail\n"


def checkout(root, pyproject=True):
    (root / "docs").mkdir()
    if pyproject:
        (root / "pyproject.toml").write_text("[project]\nname = 'memcg-edu'\n")
    return root / "docs" / "kernel-rules.md"


def test_a_checkout_is_updated_in_place(tmp_path):
    rules = checkout(tmp_path)
    rules.write_text(DOC)
    assert update_doc(rules) is True
    text = rules.read_text()
    assert "old table" not in text and "| `mem_cgroup_migrate` |" in text
    assert text.endswith(f"{END}\ntail\n")
    assert update_doc(rules) is False


def test_an_installed_copy_without_docs_is_one_error(tmp_path):
    with pytest.raises(ModelUsageError, match="not a checkout of memcg-edu"):
        update_doc(tmp_path / "docs" / "kernel-rules.md")


def test_site_packages_docs_of_another_package_is_not_written(tmp_path):
    rules = checkout(tmp_path, pyproject=False)
    rules.write_text(DOC)
    with pytest.raises(ModelUsageError, match="not a checkout"):
        update_doc(rules)
    assert rules.read_text() == DOC


def test_a_checkout_without_the_doc_is_one_error(tmp_path):
    with pytest.raises(ModelUsageError, match="No such file"):
        update_doc(checkout(tmp_path))


@pytest.mark.parametrize("link", ["file", "folder"])
def test_a_symlink_out_of_docs_is_not_followed(tmp_path, link):
    victim = tmp_path / "elsewhere"
    victim.mkdir()
    (victim / "kernel-rules.md").write_text(DOC)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    if link == "folder":
        (root / "docs").symlink_to(victim)
    else:
        (root / "docs").mkdir()
        (root / "docs" / "kernel-rules.md").symlink_to(victim / "kernel-rules.md")
    with pytest.raises(ModelUsageError, match="symlink"):
        update_doc(root / "docs" / "kernel-rules.md")
    assert (victim / "kernel-rules.md").read_text() == DOC


@pytest.mark.parametrize("flag", ["--list", "--markdown", "--update-doc"])
def test_a_name_with_a_listing_flag_is_refused_not_ignored(capsys, flag):
    from memcg_edu.cli import main
    assert main(["where", flag, "mem_cgroup_migrate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not both" in err


def test_a_huge_unknown_name_is_not_echoed_whole(capsys):
    from memcg_edu.cli import main
    assert main(["where", "x" * 100_000]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 400
