"""Starting the command line stays quick: matplotlib loads only for ``plot``."""
import subprocess
import sys

_PROBE = """
import sys
import memcg_edu.cli as cli
p = cli.build_parser()
p.parse_args(["plot", "06-swap-out-and-in", "--out", "fig.png"])
p.parse_args(["live", "status"])
print(sorted({m.split(".")[0] for m in sys.modules} & {"matplotlib", "ipywidgets"}))
"""


def test_building_the_parser_imports_no_matplotlib():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_the_probe_would_see_matplotlib():
    probe = _PROBE.replace("import memcg_edu.cli as cli", "import matplotlib\nimport memcg_edu.cli as cli")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert out.strip() == "['matplotlib']"


def test_importing_the_command_line_loads_no_numpy():
    code = ("import sys, memcg_edu, memcg_edu.cli; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'matplotlib'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_the_lazy_names_of_the_package_still_work():
    import memcg_edu
    from memcg_edu.model import Machine
    from memcg_edu.timeline import Timeline
    assert memcg_edu.Timeline is Timeline and memcg_edu.Machine is Machine


def test_only_explore_loads_the_race_explorer():
    code = ("import sys, memcg_edu.cli as cli; p = cli.build_parser(); "
            "p.parse_args(['run', 'x.json']); "
            "print(sorted(m for m in sys.modules if m.startswith('memcg_edu.explore')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"
