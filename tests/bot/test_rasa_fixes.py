"""bot/rasa_fixes.py gives exactly Rasa 3.6's results (its own functions are the oracle)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_fixes


def event(kind: int, t: float, n: int):
    return [UserUttered(f"话{n}", {"name": "affirm", "confidence": 1.0}, [], timestamp=t),
            SlotSet("name", f"张{n}", timestamp=t),
            ActionExecuted("action_listen", timestamp=t),
            BotUttered(f"回{n}", {}, timestamp=t)][kind]


# A conversation as (kind, timestamp step, text) triples; steps of 0 give equal timestamps.
events_st = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 3)), max_size=25)


def build(spec, start=1000.0):
    t, out = start, []
    for kind, step, n in spec:
        t += step
        out.append(event(kind, t, n))
    return out


def dicts(tracker):
    return [e.as_dict() for e in tracker.events]


@settings(max_examples=150, deadline=None)
@given(common=events_st, stored_tail=events_st, turn_tail=events_st)
def test_the_merge_is_rasas(common, stored_tail, turn_tail):
    shared = build(common)
    end = shared[-1].timestamp if shared else 1000.0
    prior = DialogueStateTracker.from_events("c", shared + build(stored_tail, end))
    tracker = DialogueStateTracker.from_events("c", shared + build(turn_tail, end))
    assert dicts(rasa_fixes.merge_trackers(prior, tracker)) == dicts(RedisTrackerStore._merge_trackers(prior, tracker))


RASA_VALIDATE = RemoteAction._validate_action_result   # Rasa's own, before install()


@pytest.fixture
def action():
    rasa_fixes.install()
    yield RemoteAction("action_x", None)
    RemoteAction._validate_action_result = RASA_VALIDATE


def test_a_valid_action_reply_passes(action):
    reply = {"events": [{"event": "slot", "name": "name", "value": "张", "timestamp": None}],
             "responses": [{"response": "utter_ask_name"}]}
    assert action._validate_action_result(reply) is True


def test_an_invalid_action_reply_is_refused_as_rasa_refuses_it(action):
    reply = {"events": [{"event": "slot", "name": 5}], "responses": "nope"}
    with pytest.raises(ValidationError) as ours:
        action._validate_action_result(reply)
    with pytest.raises(ValidationError) as theirs:
        RASA_VALIDATE(action, reply)
    assert ours.value.message == theirs.value.message
