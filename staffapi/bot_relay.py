"""Front-desk side panel: POST /api/bot/message relays one message to Rasa's REST channel (same origin, no CORS)
through the one shared clients.rasa.RasaClient; the sender id is namespaced by the logged-in user.
"""
from __future__ import annotations

import logging

from clients.rasa import RasaUnavailable
from staffapi import apischema
from staffapi.base import RASA, json_body, ok, requires
from workorders.model import WorkOrderError

log = logging.getLogger(__name__)


@requires(frozenset({"clerk", "dispatcher", "admin"}))
async def bot_message(request):
    """Front-desk side panel: relay one message to Rasa's REST channel (same origin, no CORS).
    The sender id is namespaced by the logged-in user so a console cannot read other trackers."""
    data = await json_body(request)
    apischema.check_body(apischema.BOT_MESSAGE, data)
    message, session = data["message"], data["session"]
    sender = f"frontdesk-{request['user'].username}-{session}"
    payload = {"sender": sender, "message": message.strip(),
               "metadata": {"channel": "frontdesk", "caller": None, "speech_rate": "normal"}}
    try:
        replies = await request.app[RASA].send(payload["sender"], payload["message"], payload["metadata"])
    except RasaUnavailable:
        raise WorkOrderError("bot_unavailable", "对话机器人暂时不可用，请稍后重试。", 502) from None
    texts = [m["text"] for m in replies if isinstance(m, dict) and isinstance(m.get("text"), str)]
    return ok({"sender": sender, "messages": replies, "suggested": texts[-1] if texts else None})
