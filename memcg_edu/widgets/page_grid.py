"""The page grid widget: one button per page frame, a click picks it for the inspector.

The frames and swap slots of a step (mem_map, the page_cgroup array,
swap_cgroup; memcg_edu.viz.pagegrid has the states, colours and key) drawn
by a small anywidget front-end as a grid of buttons: pfn, label, reference
count and map count, page_cgroup flags and pc->mem_cgroup. Clicking a
frame (or Enter on it) sets ``PageGrid.picked``, which the page inspector
(memcg_edu.widgets.inspector) follows; until then it follows the current
call's page. A step sends one trait change (``view``: compact rows, not a
widget per cell).
"""
from __future__ import annotations

import json
import operator
from typing import Any, Callable, Mapping, Optional

import anywidget
import ipywidgets as widgets
import traitlets

from ..errors import ModelUsageError
from ..timeline import Timeline
from ..viz.pagegrid import (GRID_KEY, PAGE_COLORS, PAGE_STATES, SLOT_COLORS, SLOT_STATES,
                            grid_words, labels_at, page_states, pcg_flags, slot_states,
                            touched)
from .inspector import PageInspector
from .player import StepPlayer

__all__ = ["PageGrid", "PageGridView", "page_cells", "slot_cells"]

_LRU_SHORT = ("inactive anon", "active anon", "inactive file", "active file", "unevictable")
# white text on the two dark fills (locked / migrating; a slot with a record)
_TEXT_ON_DARK = {PAGE_COLORS[7], SLOT_COLORS[2]}


def _palette(states: tuple[str, ...], colors: tuple[str, ...]) -> list[list[str]]:
    return [[s, c, "#fff" if c in _TEXT_ON_DARK else "#000"] for s, c in zip(states, colors)]


def _name(names: list[str], i: int) -> str:
    return names[i] if 0 <= i < len(names) else "-"


def page_cells(pages: Mapping[str, Any], record: Mapping[str, Any]) -> list[list[Any]]:
    """Per pfn: [state index, label, _count, mapcount, PCG letters,
    pc->mem_cgroup, in the swap cache, the frame in words]."""
    names = pages["memcg_names"]
    by_pfn, _ = labels_at(record)
    cols = zip(page_states(pages).tolist(), pcg_flags(pages),
               *(_list(pages[k]) for k in ("refcount", "mapcount", "pc_memcg", "lru",
                                           "lru_memcg", "swapcache", "swap_entry")))
    cells = []
    for pfn, (st, flags, count, mapcount, mi, lru, owner, sc, slot) in enumerate(cols):
        memcg, label = _name(names, int(mi)), by_pfn.get(pfn, "")
        words = (f"pfn {pfn}{' (' + label + ')' if label else ''}: {PAGE_STATES[st]}; "
                 f"refcount {count}, mapcount {mapcount}; page_cgroup flags {flags}, "
                 f"pc->mem_cgroup {memcg}; LRU: "
                 f"{(_LRU_SHORT[lru] + ' of ' + _name(names, owner)) if lru >= 0 else 'none'}"
                 f"{'; swap cache slot ' + str(slot) if sc else ''}")
        cells.append([st, label, int(count), int(mapcount), flags, memcg, bool(sc), words])
    return cells


def _list(values: Any) -> list[Any]:
    """Plain Python values of a "pages" column (a numpy array or a list)."""
    return values.tolist() if hasattr(values, "tolist") else list(values)


def slot_cells(pages: Mapping[str, Any], record: Mapping[str, Any]) -> list[list[Any]]:
    """Per swap slot: [state index, label, map count, SWAP_HAS_CACHE,
    swap_cgroup memcg, the slot in words]."""
    names = pages["memcg_names"]
    _, by_slot = labels_at(record)
    cells = []
    for slot, st in enumerate(slot_states(pages).tolist()):
        n, c = int(pages["swap_count"][slot]), bool(pages["swap_cache"][slot])
        owner = _name(names, int(pages["swap_cgroup"][slot]))
        cells.append([st, by_slot.get(slot, ""), n, c, owner,
                      f"swap slot {slot}: map count {n}, {'in swap cache, ' if c else ''}"
                      f"swap_cgroup record: {owner}"])
    return cells


# The front-end: buttons for frames (Enter or a click sets `picked`), plain
# cells for slots, the key and the grid in words. Redrawn per `view`.
_ESM = r"""
function el_(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function cellText(e, lines) {
  lines.forEach((t, i) => e.appendChild(el_("span", i === 0 ? "memcg-edu-cell-head" : "", t)));
}
function captioned(title, grid) {
  const box = el_("div", "");
  box.appendChild(el_("div", "memcg-edu-grid-caption", title));
  box.appendChild(grid);
  return box;
}
function render({ model, el }) {
  el.classList.add("memcg-edu-pagegrid");
  function draw() {
    const pal = model.get("palette"), v = JSON.parse(model.get("view") || "{}");
    const picked = model.get("picked"), marked = model.get("marked");
    const focused = el.contains(document.activeElement) ?
      document.activeElement.dataset.pfn : undefined;
    el.replaceChildren();
    if (!v.pages) {
      el.appendChild(el_("i", "", "No page state recorded at this step (the scenario " +
                                  "runner stores it only for small machines)."));
      return;
    }
    const head = el_("div", "memcg-edu-grid-head");
    head.appendChild(el_("b", "", `Page frames and swap slots after step ${v.step} (${v.op})`));
    const follow = el_("button", "memcg-edu-grid-follow",
                       picked === null ? "following the call's page" : "follow the call's page");
    follow.disabled = picked === null;
    follow.title = "let the page inspector follow the page of the current call";
    follow.addEventListener("click", () => { model.set("picked", null); model.save_changes(); });
    head.appendChild(follow);
    el.appendChild(head);
    const hint = el_("div", "memcg-edu-grid-hint",
      "Click a frame (or Tab to it and press Enter) to see its struct page and " +
      "page_cgroup in the page inspector" + (picked === null ? "." :
      `; pfn ${picked} is picked.`));
    el.appendChild(hint);
    if (model.get("note")) el.appendChild(el_("div", "memcg-edu-grid-note", model.get("note")));
    const row = el_("div", "memcg-edu-grid-row");
    const frames = el_("div", "memcg-edu-grid memcg-edu-grid-pages");
    frames.setAttribute("role", "group");
    frames.setAttribute("aria-label", `page frames after step ${v.step}`);
    frames.style.gridTemplateColumns = `repeat(${v.columns}, 50px)`;
    const hit = new Set(v.touched);
    v.pages.forEach((c, pfn) => {
      const [st, label, count, map, flags, memcg, sc, words] = c;
      const b = el_("button", "memcg-edu-page");
      if (hit.has(pfn)) b.classList.add("memcg-edu-touched");
      if (pfn === marked) b.classList.add("memcg-edu-picked");
      b.dataset.pfn = String(pfn);
      b.style.background = pal.pages[st][1];
      b.style.color = pal.pages[st][2];
      b.title = words;
      b.setAttribute("aria-label", words);
      b.setAttribute("aria-pressed", String(pfn === picked));
      const lines = [`${pfn} ${label}`];
      if (st !== 0) lines.push(`c${count} m${map}`, flags + (sc ? " SC" : ""), memcg);
      cellText(b, lines);
      b.addEventListener("click", () => { model.set("picked", pfn); model.save_changes(); });
      frames.appendChild(b);
    });
    row.appendChild(captioned("page frames (pfn)", frames));
    if (v.slots.length) {
      const slots = el_("div", "memcg-edu-grid memcg-edu-grid-slots");
      slots.setAttribute("role", "list");
      slots.setAttribute("aria-label", "swap slots");
      slots.style.gridTemplateColumns = "repeat(8, 50px)";
      v.slots.forEach((c, i) => {
        const [st, label, n, cache, owner, words] = c;
        const d = el_("div", "memcg-edu-slot");
        d.setAttribute("role", "listitem");
        d.style.background = pal.slots[st][1];
        d.style.color = pal.slots[st][2];
        d.title = words;
        d.setAttribute("aria-label", words);
        const lines = [`s${i} ${label}`];
        if (n || cache) lines.push(`n=${n}${cache ? " C" : ""}`, owner);
        cellText(d, lines);
        slots.appendChild(d);
      });
      row.appendChild(captioned("swap slots", slots));
    }
    el.appendChild(row);
    const key = el_("div", "memcg-edu-grid-key");
    for (const [states, what] of [[pal.pages, "frames"], [pal.slots, "slots"]]) {
      const line = el_("div", "");
      line.setAttribute("aria-label", `colours of the ${what}`);
      for (const [name, color] of states) {
        const sw = el_("span", "memcg-edu-swatch");
        sw.style.background = color;
        line.appendChild(sw);
        line.appendChild(document.createTextNode(` ${name}  `));
      }
      key.appendChild(line);
    }
    for (const t of pal.key) key.appendChild(el_("div", "", t));
    key.appendChild(el_("div", "", "thick outline: touched by the step; dashed: the " +
                                   "frame the page inspector shows, as the current call " +
                                   "leaves it (the grid shows every frame after the whole step)"));
    el.appendChild(key);
    const alt = el_("details", "memcg-edu-grid-alt");
    alt.appendChild(el_("summary", "", "the grid in words"));
    alt.appendChild(el_("p", "", v.words));
    el.appendChild(alt);
    if (focused !== undefined) {
      const again = el.querySelector(`button[data-pfn="${focused}"]`);
      if (again) again.focus();
    }
  }
  for (const name of ["view", "picked", "marked", "note"]) model.on(`change:${name}`, draw);
  draw();
}
export default { render };
"""

_CSS = """
.memcg-edu-pagegrid { font-size: 12px; }
.memcg-edu-grid-head { display: flex; gap: 12px; align-items: center; }
.memcg-edu-grid-hint, .memcg-edu-grid-key { font-size: 11px; margin: 2px 0; }
.memcg-edu-grid-note { color: #D55E00; font-weight: bold; margin: 2px 0; }
.memcg-edu-grid-row { display: flex; flex-wrap: wrap; gap: 12px 16px; align-items: flex-start; }
.memcg-edu-grid { display: grid; gap: 2px; }
.memcg-edu-grid-caption { font-size: 11px; color: #555; margin-bottom: 2px; }
.memcg-edu-page, .memcg-edu-slot { width: 50px; height: 60px; padding: 2px 1px; margin: 0;
  font: 10px/1.2 sans-serif; text-align: center; vertical-align: top; border: 1px solid #fff;
  box-sizing: border-box; overflow: hidden; display: flex; flex-direction: column;
  justify-content: flex-start; align-items: center; border-radius: 0; }
.memcg-edu-page { cursor: pointer; }
.memcg-edu-page:hover { filter: brightness(0.9); }
.memcg-edu-page:focus-visible { outline: 3px solid #0072B2; outline-offset: 1px; }
.memcg-edu-page[aria-pressed="true"] { box-shadow: inset 0 0 0 2px #0072B2; }
.memcg-edu-touched { border: 3px solid #000; }
.memcg-edu-picked { border: 3px dashed #0072B2; }
.memcg-edu-page span, .memcg-edu-slot span { max-width: 100%; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
.memcg-edu-cell-head { font-weight: bold; }
.memcg-edu-swatch { display: inline-block; width: 10px; height: 10px;
  border: 1px solid #555; vertical-align: middle; }
"""


class PageGrid(anywidget.AnyWidget):
    """The grid's front-end model: ``view`` (one step's compact rows, as JSON),
    ``picked`` (the frame the learner clicked, None to follow the call's
    page; the front-end sets it), ``marked`` (the frame the inspector shows,
    dashed), ``note`` (a line saying why a pick was refused)."""

    _esm = _ESM
    _css = _CSS
    palette = traitlets.Dict().tag(sync=True)
    # JSON text: ipywidgets walks a nested value for binary buffers at every
    # send, which costs more than the rows themselves
    view = traitlets.Unicode("{}").tag(sync=True)
    # Any, not Int: what a front-end sends is checked by PageGridView, which
    # answers a bad value with a note instead of a traceback
    picked = traitlets.Any(None).tag(sync=True)
    marked = traitlets.Int(None, allow_none=True).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)


class PageGridView(widgets.VBox):
    """Page frames and swap slots of one step; a click on a frame picks it.

    ``show(step)`` moves it; ``view`` is what the grid shows (the dict
    ``grid.view`` carries as JSON); ``grid`` is the front-end model (CSS class
    ``memcg-edu-pagegrid``; frames are buttons ``memcg-edu-page`` with
    ``data-pfn``, touched ones ``memcg-edu-touched``, the inspected one
    ``memcg-edu-picked``). ``follow(player)`` links it to a StepPlayer's
    page inspector (``picked``: the frame picked, None while following).
    A timeline without page state shows a note.
    """

    def __init__(self, timeline: Timeline, columns: int = 16) -> None:
        if not len(timeline):
            raise ModelUsageError("the timeline has no steps to show")
        self.timeline = timeline
        self.columns = columns
        self.available = any("pages" in r for r in timeline.steps)
        self.grid = PageGrid(palette={"pages": _palette(PAGE_STATES, PAGE_COLORS),
                                      "slots": _palette(SLOT_STATES, SLOT_COLORS),
                                      "key": list(GRID_KEY)})
        self.inspector: Optional[PageInspector] = None
        self._open: Callable[[], None] = lambda: None
        self._pick: Optional[int] = None
        super().__init__([self.grid])
        self.grid.observe(self._picked, names="picked")
        self.step = -1
        self.show(0)

    @property
    def picked(self) -> Optional[int]:
        """The frame the learner picked (None: the inspector follows the call's page)."""
        return self._pick

    def frames(self, step: Optional[int] = None) -> int:
        """How many page frames ``step`` (default: the one shown) records."""
        pages = self.timeline[self.step if step is None else step].get("pages")
        return len(pages["free"]) if pages else 0

    def show(self, step: int) -> None:
        step = self.timeline.step_index(step)
        self.step = step
        rec = self.timeline[step]
        pages = rec.get("pages")
        view: dict[str, Any] = {"step": step, "op": str(rec.get("op", ""))}
        if pages:
            view.update(columns=self.columns, pages=page_cells(pages, rec),
                        slots=slot_cells(pages, rec) if len(pages.get("swap_count", ())) else [],
                        touched=touched(rec),
                        words=grid_words(pages, rec, step, page_states(pages)))
        self.view = view
        self.grid.view = json.dumps(view, separators=(",", ":"))

    # -- picking --------------------------------------------------------------
    def follow(self, player: StepPlayer) -> None:
        """Link the grid to ``player``'s page inspector: a click on a frame
        picks it there and opens "inside this step"; the inspector's own
        frame list moves the grid's pick; the frame it shows is dashed
        while "inside this step" is open."""
        self.inspector = inspector = player.calls.inspector
        self._open = player.open_calls
        inspector.observe(self._inspector_picked, names="frame")

        def marked(_: Any) -> None:
            self.grid.marked = inspector.shown_pfn if player.calls_toggle.value else None

        inspector.observe(marked, names="shown_pfn")
        player.calls_toggle.observe(marked, names="value")

    def pick(self, pfn: Optional[int]) -> None:
        """Pick frame ``pfn`` as a click would (None follows the call's page);
        a pfn that is not a frame of the step shown raises ModelUsageError."""
        problem = self._problem(pfn)
        if problem:
            raise ModelUsageError(problem)
        self.grid.picked = None if pfn is None else operator.index(pfn)   # JSON: a plain int

    def _problem(self, pfn: Any) -> str:
        if pfn is None:
            return ""
        n = self.frames()
        if not n:
            return f"step {self.step} records no page frames to pick"
        try:
            if isinstance(pfn, bool):
                raise TypeError
            value = operator.index(pfn)
        except TypeError:
            return f"pfn {pfn!r} is not a frame number (a whole number from 0 to {n - 1})"
        if not 0 <= value < n:
            return (f"pfn {value} is not a frame of this machine (it has {n} frames, "
                    f"pfn 0 to {n - 1})")
        return ""

    def _picked(self, change: dict[str, Any]) -> None:
        pfn = change["new"]
        problem = self._problem(pfn)
        if problem:   # from a front-end: say why, keep the pick there was
            self.grid.note = problem + "; the inspector still shows " + (
                f"pfn {self._pick}" if self._pick is not None
                else "the call's page")
            self.grid.picked = self._pick
            return
        pfn = None if pfn is None else operator.index(pfn)
        if pfn == self._pick and self.grid.note:
            return        # the pick put back after a refused one: keep saying why
        self.grid.note = ""
        self._pick = pfn
        if self.inspector is not None:
            if self.inspector.frame != pfn:
                self.inspector.pick_frame(pfn)
            if pfn is not None:
                self._open()

    def _inspector_picked(self, change: dict[str, Any]) -> None:
        if change["new"] != self.grid.picked:
            self.grid.picked = change["new"]
