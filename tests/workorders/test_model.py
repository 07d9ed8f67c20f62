"""The state vocabulary has one home: a new work-order state is model.py (code, label, the bot's
words for residents), lifecycle.py (its transitions) and auth.py (who acts), plus tests.

Nothing else may name a state by its code: the staff API returns each order's label, rank and
allowed actions, the bot says the model's words, so a missed copy cannot fail quietly.
"""
from __future__ import annotations

import re

from common.settings import ROOT
from workorders import auth, lifecycle
from workorders.model import (
    ACCEPTED, ACTION_LABELS, CLOSED_STATES, OPEN_STATES, STATE_LABELS, STATE_PROGRESS, STATES,
)

# The three homes of the state vocabulary.
HOMES = {"workorders/model.py", "workorders/lifecycle.py", "workorders/auth.py"}
# Still naming states by their code (owned elsewhere in this round; to use model's constants or the API):
# the service's create/edit/verify, the report counters, and the consoles' work queues (待派单, 待确认办结,
# 待回访: they need an `?action=` filter on GET /api/orders, the states an action is allowed from being lifecycle's).
# kpi.py: its counters are named after what they count (dispatched, signed, replied, completed), not states.
PENDING = {"workorders/kpi.py"}
SOURCES = ("bot", "catalogue", "clients", "common", "connectors", "staffapi", "textnorm", "voice", "workorders",
           "consoles")


def test_every_state_has_a_label_and_words_for_residents():
    assert set(STATE_PROGRESS) == set(STATE_LABELS) == set(STATES)
    assert all(STATE_LABELS[s] and STATE_PROGRESS[s] for s in STATES)
    assert OPEN_STATES | CLOSED_STATES == set(STATES) and not OPEN_STATES & CLOSED_STATES


def test_every_state_is_reached_and_every_action_has_a_label_and_roles():
    targets = {target for _, target in lifecycle.TRANSITIONS.values() if target}
    assert targets | {ACCEPTED} == set(STATES)   # an order is created 受理
    assert set(lifecycle.TRANSITIONS) <= set(ACTION_LABELS)
    assert set(lifecycle.TRANSITIONS) == set(auth.ACTION_ROLES)


def _state_literals(path, text: str) -> list[str]:
    codes = "|".join(STATES)
    if path.suffix == ".py":   # only code that deals with orders ("signed" is also a sample format)
        if "workorders" not in text and not path.is_relative_to(ROOT / "workorders"):
            return []
        found = re.findall(rf"""["']({codes})["']""", text)
    else:  # JS: a state compared, queried or used as a key (KPI counter names may share a word)
        found = [m for line in text.splitlines() if "state" in line.lower()
                 for m in re.findall(rf"""["']({codes})["']|\b({codes})\s*:""", line) for m in m if m]
    return found


def test_no_other_file_names_a_state():
    copies = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if path.suffix not in (".py", ".js") or rel in HOMES | PENDING or "/vendor/" in rel:
                continue
            found = _state_literals(path, path.read_text(encoding="utf-8"))
            if found:
                copies[rel] = sorted(set(found))
    assert copies == {}, f"state codes outside model/lifecycle/auth: {copies}"


def test_the_pending_files_are_still_pending():
    # When one of them stops naming states, take it off PENDING so it stays clean.
    still = {rel for rel in PENDING if _state_literals(ROOT / rel, (ROOT / rel).read_text(encoding="utf-8"))}
    assert still == PENDING
