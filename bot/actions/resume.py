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
            # The rule runs flow_form next, which asks the pending question again.
            if spec:
                dispatcher.utter_message(response="utter_flow_resume", what=spec["title"])
            else:
                dispatcher.utter_message(response="utter_flow_resume_unknown")
            return []
        dispatcher.utter_message(response="utter_greet")
        return []
