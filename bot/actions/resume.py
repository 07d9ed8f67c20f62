"""`/call_start` at the start of every call or chat: greet, or resume an open form."""
from __future__ import annotations

from rasa_sdk import Action

from bot.actions import flow_specs as specs


class ActionCallStart(Action):
    def name(self) -> str:
        return "action_call_start"

    def run(self, dispatcher, tracker, domain):
        loop = (tracker.active_loop or {}).get("name")
        if loop == "flow_form":
            spec = specs.spec(tracker.get_slot("flow"))
            what = spec["title"] if spec else "刚才的事"
            # The rule runs flow_form next, which asks the pending question again.
            dispatcher.utter_message(text=f"欢迎回来，我们接着办{what}。")
            return []
        dispatcher.utter_message(response="utter_greet")
        return []
