"""Rasa's Redis tracker store, encrypted at rest.

Conversations hold what callers said: names, ID numbers, phone numbers. The
tracker is stored as one Fernet token per conversation (common.privacy), so a
copy of the Redis data (AOF, RDB, a replica) reveals nothing. Trackers written
before encryption was switched on are still read (plain JSON) and re-written
encrypted on the next save.
"""
from __future__ import annotations

from typing import Optional, Text, Union

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from common.privacy import decrypt, encrypt


class EncryptedRedisTrackerStore(RedisTrackerStore):
    def serialise_tracker(self, tracker: DialogueStateTracker) -> Text:  # type: ignore[override]
        return encrypt(super().serialise_tracker(tracker))

    def deserialise_tracker(
        self, sender_id: Text, serialised_tracker: Union[Text, bytes]
    ) -> Optional[DialogueStateTracker]:
        if isinstance(serialised_tracker, bytes):
            serialised_tracker = serialised_tracker.decode()
        if not serialised_tracker.lstrip().startswith("{"):
            serialised_tracker = decrypt(serialised_tracker)
        return super().deserialise_tracker(sender_id, serialised_tracker)
