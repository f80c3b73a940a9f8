"""Exercises with checks that explain a wrong answer.

An exercise's question is in its notebook; here live its check, a reference
answer (what a learner would type) and the worked solution, so a learner's
notebook never shows the answer until ``course.reveal(...)`` is called.
Counter questions are checked against the model itself (the 3.17 or 3.16
design running the exercise's scenario), so the check can never disagree
with what the step player shows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..safeio import html_text
from ..timeline import COUNTERS, PAGE_SIZE, STATS, Timeline
from .words import explain_events

__all__ = ["Verdict", "Exercise", "Solution", "not_answered", "choice",
           "counters", "number", "run_timeline", "value_at", "explain_wrong",
           "markdown_html"]

PAGES_HINT = (f"Give sizes in pages, not bytes (one page is {PAGE_SIZE} bytes).")


@dataclass(frozen=True)
class Verdict:
    """Right or wrong, and why. True in a boolean context when right.

    ``pending`` marks "no answer yet" (the notebook's ``...``), shown as the
    learner's turn rather than as a wrong answer; with its ``exercise`` it
    shows as an answer form (course.exercise_form), which works under Voila
    too. ``hint`` is what a wrong answer is told in the form: an explanation
    that does not give the right number away (``message`` does).
    """
    ok: bool
    message: str
    pending: bool = False
    hint: str = ""
    exercise: Any = field(default=None, compare=False, repr=False)

    def __bool__(self) -> bool:
        return self.ok

    def _head(self, bold: str, end: str) -> str:
        if self.ok:
            return f"&#10004; {bold}Right.{end}"
        if self.pending:
            return f"&#9998; {bold}Your turn.{end}"
        return f"&#10008; {bold}Not yet.{end}"

    def __str__(self) -> str:
        head = "Right. " if self.ok else ("Your turn. " if self.pending else "Not yet. ")
        return head + self.message

    def _repr_markdown_(self) -> str:
        body = self.message.replace("\n", "  \n")
        return f"{self._head('**', '**')} {body}"

    def _repr_html_(self) -> str:
        return self.to_html()

    def _ipython_display_(self) -> None:
        """An unanswered exercise shows its answer form; anything else its text."""
        from IPython.display import display
        if self.pending and self.exercise is not None:
            from .exercise_form import exercise_form
            display(exercise_form(self.exercise))
        else:
            display({"text/html": self.to_html(), "text/markdown": self._repr_markdown_(),
                     "text/plain": str(self)}, raw=True)

    def to_html(self, text: str | None = None) -> str:
        """The verdict as HTML (widgets and Voila show it as is); ``text``
        in place of the message (the form shows the hint)."""
        mark = self._head("<b>", "</b>")
        return f"<div class='memcg-edu-verdict'>{mark} {markdown_html(text or self.message)}</div>"


def markdown_html(text: str) -> str:
    """The little Markdown the course's texts use (`code`, **bold**, "- "
    lists, line breaks) as HTML."""
    lines = [re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>",
                    re.sub(r"`([^`]+)`", r"<code>\1</code>", html_text(line)))
             for line in text.splitlines()]
    lines = [f"&nbsp;&nbsp;&bull; {l[2:]}" if l.startswith("- ") else l for l in lines]
    return "<br>".join(lines)


@dataclass(frozen=True)
class Solution:
    """A worked solution; shows as Markdown in a notebook, text elsewhere."""
    title: str
    text: str

    def __str__(self) -> str:
        return f"{self.title}\n\n{self.text}"

    def _repr_markdown_(self) -> str:
        return f"**{html_text(self.title)}**\n\n{self.text}"


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``check(answer) -> Verdict``; ``reference`` passes it."""
    notebook: str
    number: int
    title: str
    check: Callable[[Any], Verdict]
    reference: Any
    solution: str

    def __str__(self) -> str:
        return f"Exercise {self.notebook}.{self.number}: {self.title}"

    @property
    def form(self) -> Mapping[str, Any]:
        """What the answer looks like, for an answer form: {"kind": "choice",
        "options": {letter: text}}, {"kind": "number"} or {"kind":
        "counters", "names": [...]}."""
        return getattr(self.check, "form", {"kind": "number"})

    def worked(self) -> "Solution":
        """The worked solution, with the reference answer."""
        return Solution(f"Exercise {self.notebook}.{self.number}: {self.title}",
                        self.solution + (f"\n\nReference answer: {_in_words(self.reference)}"
                                         if self.reference is not None else ""))


def _in_words(reference: Any) -> str:
    """A reference answer as the learner reads it: "usage 0, rss 0", "(b)"."""
    if isinstance(reference, Mapping):
        return ", ".join(f"{name} {value}" for name, value in reference.items())
    if isinstance(reference, str) and len(reference) == 1:
        return f"({reference})"
    return str(reference)


def not_answered(answer: Any) -> bool:
    """True for the placeholders a notebook ships: ``...`` or ``None``."""
    if answer is Ellipsis or answer is None:
        return True
    if isinstance(answer, Mapping):
        return any(v is Ellipsis or v is None for v in answer.values())
    if isinstance(answer, (list, tuple)):
        return len(answer) == 0 or any(v is Ellipsis for v in answer)
    return False


def _waiting(form: str) -> Verdict:
    return Verdict(False, "Not answered yet: replace each `...` with your "
                   f"answer, then run the cell again. {form}".strip(), pending=True)


# -- multiple choice --------------------------------------------------------

def choice(options: Mapping[str, tuple[str, bool, str]]) -> Callable[[Any], Verdict]:
    """Check a letter against ``{letter: (text, correct, why)}``.

    ``why`` is said whatever the learner chose, so a wrong choice is
    explained, not just refused.
    """
    letters = ", ".join(f'"{k}"' for k in options)

    def check(answer: Any) -> Verdict:
        if not_answered(answer):
            return _waiting(f"Answer with one letter: {letters}.")
        key = str(answer).strip().lower().strip("()").strip()
        if key not in options:
            return Verdict(False, f"{answer!r} is not one of the choices; "
                           f"answer with one letter: {letters}.")
        text, correct, why = options[key]
        if correct:
            return Verdict(True, f"({key}) {text}: {why}")
        return Verdict(False, f"({key}) {text}: {why}")
    # the answer form the notebook shows, read off the checker
    check.form = {"kind": "choice",   # type: ignore[attr-defined]
                  "options": {k: v[0] for k, v in options.items()}}
    return check


# -- numbers ----------------------------------------------------------------

def number(compute: Callable[[], int], why: str,
           hints: Mapping[int, str] | None = None) -> Callable[[Any], Verdict]:
    """Check an integer against ``compute()`` (run on the model when checked).

    ``hints`` maps a tempting wrong value to what that value would mean.
    """
    hints = dict(hints or {})

    def check(answer: Any) -> Verdict:
        if not_answered(answer):
            return _waiting("Answer with a whole number.")
        try:
            given = int(answer)
        except (TypeError, ValueError):
            return Verdict(False, f"{answer!r} is not a whole number.")
        right = int(compute())
        if given == right:
            return Verdict(True, why)
        msg = f"You said {given}; the model says {right}. {why}"
        hint = f"You said {given}; that is not it."
        if given in hints:
            msg = f"You said {given}: {hints[given]} The model says {right}. {why}"
            hint = f"You said {given}: {hints[given]}"
        elif right and given == right * PAGE_SIZE:
            msg = f"{PAGES_HINT} {msg}"
            hint = f"{PAGES_HINT} {hint}"
        return Verdict(False, msg, hint=hint)
    # the answer form the notebook shows, read off the checker
    check.form = {"kind": "number"}   # type: ignore[attr-defined]
    return check


# -- counters after a step of a scenario --------------------------------------

def run_timeline(scenario: Mapping[str, Any], design: str = "3.17") -> Timeline:
    """Run a scenario (a dict in the scenario format) on the model."""
    from ..scenario import run_scenario
    return run_scenario(dict(scenario), design=design)


def value_at(tl: Timeline, step: int, memcg: str, name: str) -> int | None:
    """A counter or statistic of ``memcg`` after step ``step`` (None = unlimited)."""
    v = tl.counter(memcg, name)[step]
    return None if v != v else int(v)   # nan -> None


def counters(scenario: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
             step: int, memcg: str, why: Mapping[str, str],
             design: str = "3.17") -> Callable[[Any], Verdict]:
    """Check ``{counter: value}`` for ``memcg`` after step ``step`` (-1: last).

    ``scenario`` is a scenario dict, or a function returning one (for a
    generated problem, built only when the answer is checked).
    The names asked are the keys of ``why`` (COUNTERS or STATS names); each
    ``why`` sentence explains the right value, and is shown for every
    counter the learner got wrong, with the kernel functions the step called.
    """
    for name in why:
        if name not in COUNTERS and name not in STATS:
            raise ValueError(f"unknown counter {name!r}")
    form = "Write a dict: {" + ", ".join(f'"{n}": ...' for n in why) + "}."
    cache: dict[str, Timeline] = {}

    def check(answer: Any) -> Verdict:
        if not isinstance(answer, Mapping):
            if not_answered(answer):
                return _waiting(form)
            return Verdict(False, f"{form} You gave {answer!r}.")
        missing = [n for n in why if n not in answer]
        extra = [n for n in answer if n not in why]
        if extra:
            return Verdict(False, f"This exercise asks about {', '.join(why)}; "
                           f"leave out {', '.join(map(str, extra))}.")
        if missing or not_answered(answer):
            return _waiting(form)
        if "tl" not in cache:
            cache["tl"] = run_timeline(scenario() if callable(scenario) else scenario,
                                       design)
        wrong = explain_wrong(cache["tl"], step, memcg,
                              {n: answer[n] for n in why}, because=why)
        # not `or`: a wrong Verdict is falsy
        return Verdict(True, " ".join(why.values())) if wrong is None else wrong
    # the answer form the notebook shows, read off the checker
    check.form = {"kind": "counters", "names": list(why)}   # type: ignore[attr-defined]
    return check


def explain_wrong(tl: Timeline, step: int, memcg: str, guess: Mapping[str, Any],
                  because: Mapping[str, str] | None = None, moves: bool = False,
                  notes: Sequence[str] = ()) -> Verdict | None:
    """The one check of a learner's counters: None when every number in
    ``guess`` ({counter: pages}) is ``memcg``'s after ``step``, else a
    Verdict naming each wrong one.

    Each wrong line ends with ``because[name]`` if given; ``moves`` adds
    how the step moved the counter. ``notes`` follow the list; last come
    the kernel functions the step called (mm/memcontrol.c and its callers).
    """
    from ..scenario.quiz import COUNTER_HINTS

    wrong, hints = [], []
    for name, given in guess.items():
        right = value_at(tl, step, memcg, name)
        if given == right:
            continue
        moved = _moved(tl, step, memcg, name, right) if moves else ""
        why = f" {because[name]}" if because else ""
        hint = f" {PAGES_HINT}" if right and given == right * PAGE_SIZE else ""
        wrong.append(f"- {name}: you said {given}, it is {right}{moved}.{why}{hint}")
        hints.append(f"- {name}: {given} is not it.{hint} {COUNTER_HINTS.get(name, '')}".rstrip())
    if not wrong:
        return None
    rec = tl[step]
    head = f"After step {rec.get('step', step)} ({rec.get('op', '?')}), for {memcg}:"
    lines = [head] + wrong + list(notes)
    calls = explain_events(rec.get("events") or ())
    if calls:
        lines.append("What the kernel did in this step:")
        lines += [f"- {c}" for c in calls]
    return Verdict(False, "\n".join(lines), hint="\n".join([head] + hints))


def _moved(tl: Timeline, step: int, memcg: str, name: str, now: int | None) -> str:
    before = value_at(tl, step - 1, memcg, name) if step > 0 else None
    if before is None or now is None:
        return ""
    d = now - before
    return (" (unchanged by this step)" if d == 0 else
            f" ({'+' if d > 0 else ''}{d} in this step, from {before})")
