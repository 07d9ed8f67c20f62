"""Drop-in fixes to Rasa 3.6 internals that cost CPU on every turn; each keeps Rasa's behaviour.

Measured with a 130-event conversation on this box (loaded): see docs/BENCHMARKS.md "Rasa turn cost".

- `merge_trackers`: RedisTrackerStore.save merges the stored tracker with the turn's. Rasa replays the
  whole conversation (`travel_back_in_time`) to compare, and when they differ compares every new event
  with every stored one (quadratic). Here: the same comparison on the prefix of events (what the
  replay yields), and new events looked up among stored ones with the same (type, timestamp) before
  Rasa's own `as_dict()` equality. Used by bot/tracker_store.py.
- `install()`: RemoteAction._validate_action_result calls `jsonschema.validate` on every action server
  reply, which first re-checks the large, constant events schema against its metaschema. Here the
  validator is built once per schema and raises the same error (`best_match` of `iter_errors`, as
  `jsonschema.validate` does). Installed when the tracker store is built (Rasa's server startup).
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from rasa.shared.core.trackers import DialogueStateTracker


def merge_trackers(prior_tracker: DialogueStateTracker, tracker: DialogueStateTracker) -> DialogueStateTracker:
    """Rasa 3.6's RedisTrackerStore._merge_trackers, in linear time."""
    if not prior_tracker.events:
        return tracker
    last_event_timestamp = prior_tracker.events[-1].timestamp
    # travel_back_in_time keeps exactly this prefix (it stops at the first later event)
    past = list(itertools.takewhile(lambda e: e.timestamp <= last_event_timestamp, tracker.events))
    if past == list(prior_tracker.events):
        return tracker

    if tracker.events.maxlen is not None:   # a bounded history forgets events: compare as Rasa does
        from rasa.core.tracker_store import RedisTrackerStore

        return RedisTrackerStore._merge_trackers(prior_tracker, tracker)
    merged = tracker.init_copy()
    merged.update_with_events(list(prior_tracker.events), override_timestamp=False, domain=None)
    # equal as_dict()s have equal (event, timestamp): only those are compared
    buckets: dict[Any, list[dict]] = defaultdict(list)
    for event in merged.events:
        d = event.as_dict()
        buckets[(d.get("event"), d.get("timestamp"))].append(d)
    for new_event in tracker.events:
        d = new_event.as_dict()
        bucket = buckets[(d.get("event"), d.get("timestamp"))]
        if all(d != existing for existing in bucket):
            merged.update(new_event)
            bucket.append(new_event.as_dict())
    return merged


_validators: dict[Any, Any] = {}


def _validate_action_result(self, result: dict) -> bool:
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.shared.constants import DOCS_BASE_URL

    spec = type(self).action_response_format_spec
    validator = _validators.get(spec)
    if validator is None:
        schema = self.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        validator = _validators[spec] = cls(schema)
    error = best_match(validator.iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Use the validator built once for every RemoteAction (idempotent)."""
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _validate_action_result
