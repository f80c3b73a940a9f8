"""Race explorer: time, states and interleavings of every shipped race, and
how the state space grows with path length and the number of paths.

Figures:
* <race>_s / _states / _interleavings: every protection in force (the
  shipped races must each finish in seconds; target: under 1 s each);
* <race>_without_s: the slowest single-protection removal;
* free_k<k>_n<n>_states / _interleavings: k independent paths of n steps
  (no locks): the memoised search visits (n+1)^k states while the number
  of interleavings is (kn)!/(n!)^k;
* unmappers<k>_*: move_vs_unmap with k tasks sharing the page (k+1 paths).
"""
from __future__ import annotations

import time

from memcg_edu.explore import explore
from memcg_edu.explore.paths import Path, Step
from memcg_edu.explore.races import PROTECTIONS, RACES
from memcg_edu.explore.races.move_vs_unmap import build
from memcg_edu.explore.search import Search
from memcg_edu.explore.state import World, new_memcg, new_page

__all__ = ["run"]


def _free(k: int, n: int) -> tuple[int, int, float]:
    def bump(w, ctx):
        w.page("X")["ref"] += 1
    paths = [Path(f"p{i}", tuple(Step(f"s{j}", "k", bump) for j in range(n)))
             for i in range(k)]
    world = World("3.17", pages={"X": new_page(anon=True)}, memcgs={"A": new_memcg()})
    t0 = time.perf_counter()
    s = Search(world, [p.compile(()) for p in paths], frozenset(), frozenset())
    total, _, _ = s.run()
    return len(s.memo), total, time.perf_counter() - t0


def run() -> dict:
    out: dict = {}
    for name, race in RACES.items():
        t0 = time.perf_counter()
        r = explore(name, fixes=race.fixes)
        out[f"{name}_s"] = round(time.perf_counter() - t0, 3)
        out[f"{name}_states"] = r.states
        out[f"{name}_interleavings"] = r.explored
        worst = 0.0
        for p in race.protections:
            t0 = time.perf_counter()
            explore(name, without=[p], fixes=race.fixes)
            worst = max(worst, time.perf_counter() - t0)
        if race.protections:
            out[f"{name}_without_s"] = round(worst, 3)
    for k, n in ((2, 4), (2, 8), (2, 16), (3, 4), (3, 8), (4, 4)):
        states, total, secs = _free(k, n)
        out[f"free_k{k}_n{n}_states"] = states
        out[f"free_k{k}_n{n}_interleavings"] = total
        out[f"free_k{k}_n{n}_s"] = round(secs, 3)
    prot = frozenset(PROTECTIONS)
    for k in (1, 2, 3):
        world, paths = build(frozenset(), tuple("PQR"[:k]))
        t0 = time.perf_counter()
        s = Search(world, [p.compile(prot) for p in paths], prot, frozenset())
        total, broken, _ = s.run()
        out[f"unmappers{k}_states"] = len(s.memo)
        out[f"unmappers{k}_interleavings"] = total
        out[f"unmappers{k}_broken"] = broken
        out[f"unmappers{k}_s"] = round(time.perf_counter() - t0, 3)
    return out


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:40} {value}")
