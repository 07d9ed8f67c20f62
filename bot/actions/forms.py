"""The one guided form `flow_form`: which slots to ask (from the flow spec), how each
answer is validated (validate_<slot>), and how each question is asked (action_ask_<slot>).

Rules of the conversation: one question per turn; two failed tries at a slot -> offer a
person; corrections ("不对，最后四位是一二三叉", "名字是耳东陈") work at any step;
ID and phone numbers appear in clear only in the read-back the caller is asked to check.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import flow_specs as specs
from bot.actions.parse import (age_from_birth, parse_age, parse_birth, parse_for_whom, parse_place,
                               yes_no)
from textnorm.idcard import explain, validate_id_number
from textnorm.phone import (NAME_PARTS, correct_name, explain_phone, parse_name, read_back_name, validate_name,
                            validate_phone)
from textnorm.spoken_numbers import DigitBuffer, parse_correction, read_id, read_phone, to_digits

FORM = "flow_form"
FORM_SLOTS = ("flow", "human_offer", "flow_q1", "flow_q2", "flow_q3", "flow_register", "for_whom",
              "applicant_name", "id_number", "id_confirm", "phone", "phone_confirm", "village", "flow_confirm")
# Slots the flow actions set themselves (reset when a flow starts or ends).
STATE_SLOTS = ("flow_done", "flow_tries", "flow_offer_human", "flow_asked", "flow_pending", "id_partial",
               "flow_request_id")
UNKNOWN_ID = "unknown"
_FIELD_WORDS = ("名字", "姓", "电话", "手机", "身份证", "号码")
_DONT_KNOW = ("不记得", "记不得", "记不清", "不知道", "忘了", "想不起", "不晓得", "没记住")


def channel_of(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return ((event.get("metadata") or {}).get("channel")) or "web"
    return "web"


def is_voice(tracker: Tracker) -> bool:
    return channel_of(tracker) == "voice"


def who_label(tracker: Tracker) -> str:
    return specs.FOR_WHOM_LABELS.get(tracker.get_slot("for_whom") or "self", "您本人")


def required_slots_for(tracker: Tracker) -> list[str]:
    """The slots still to fill for the current flow, in asking order."""
    if tracker.get_slot("flow_done"):
        return []
    spec = specs.spec(tracker.get_slot("flow"))
    slots = ["human_offer"] if tracker.get_slot("flow_offer_human") else []
    if spec is None:
        return slots + ["flow"]
    slots += list(specs.QUESTION_SLOTS[: len(spec.get("questions", []))])
    slots.append("flow_register")
    if spec.get("for_whom"):
        slots.append("for_whom")
    slots.append("applicant_name")
    if spec.get("id", "required") != "none":
        slots += ["id_number", "id_confirm"]
    slots += ["phone", "phone_confirm", "village", "flow_confirm"]
    return slots


def question_spec(tracker: Tracker, slot: str) -> dict:
    spec = specs.spec(tracker.get_slot("flow")) or {}
    index = specs.QUESTION_SLOTS.index(slot)
    return spec.get("questions", [])[index]


class ValidateFlowForm(FormValidationAction):
    def name(self) -> str:
        return "validate_flow_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        return required_slots_for(tracker)

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _ok(slot: str, value: Any, **more: Any) -> dict:
        return {slot: value, "flow_tries": 0, "flow_offer_human": None, **more}

    @staticmethod
    def _fail(slot: str, dispatcher: CollectingDispatcher, tracker: Tracker, message: str, **more: Any) -> dict:
        tries = int(tracker.get_slot("flow_tries") or 0) + 1
        dispatcher.utter_message(text=message)
        out = {slot: None, "flow_tries": tries, **more}
        if tries >= 2:
            out["flow_offer_human"] = slot
        return out

    @staticmethod
    def _intent(tracker: Tracker) -> str | None:
        return (tracker.latest_message.get("intent") or {}).get("name")

    def _route_correction(self, text: str, slot: str, dispatcher, tracker) -> dict | None:
        """A correction of another, already filled slot ("名字是耳东陈" while asked for the phone)."""
        name = tracker.get_slot("applicant_name")
        if name and slot != "applicant_name" and ("名字" in text or "姓" in text
                                                   or any(d in text for d in NAME_PARTS)):
            new = correct_name(name, text)
            if validate_name(new)[0] and new != name:
                dispatcher.utter_message(text=f"好的，名字改成{new}。")
                return {slot: None, "applicant_name": new}
        number = tracker.get_slot("id_number")
        if number and number != UNKNOWN_ID and "身份证" in text and slot not in ("id_number", "id_confirm"):
            fixed = self._fix_id(number, text)
            if fixed:
                return {slot: None, "id_number": fixed, "id_confirm": None}
        phone = tracker.get_slot("phone")
        if phone and ("电话" in text or "手机" in text) and slot not in ("phone", "phone_confirm"):
            fixed = self._fix_phone(phone, text)
            if fixed:
                return {slot: None, "phone": fixed, "phone_confirm": None}
        return None

    @staticmethod
    def _fix_id(number: str, text: str) -> str | None:
        correction = parse_correction(text)
        candidate = correction.apply(number) if correction else None
        if candidate is None and len(to_digits(text)) == 18:
            candidate = to_digits(text)
        if candidate and validate_id_number(candidate)[0]:
            return candidate
        return None

    @staticmethod
    def _fix_phone(phone: str, text: str) -> str | None:
        correction = parse_correction(text)
        candidate = correction.apply(phone) if correction else to_digits(text)
        if candidate and validate_phone(candidate)[0]:
            return candidate
        return None

    # ------------------------------------------------------------ which flow
    def validate_flow(self, value, dispatcher, tracker, domain) -> dict:
        if value in specs.flows():
            return {"flow": value}
        flow = specs.pick_flow(str(value or ""), tracker.get_slot("matter"))
        if flow is None:
            return self._fail("flow", dispatcher, tracker, "这件事我还不能帮您登记。")
        spec = specs.spec(flow)
        dispatcher.utter_message(text=spec.get("start", "好的。"))
        return self._ok("flow", flow, matter=spec["matter"])

    # ------------------------------------------------------------ human offer
    def validate_human_offer(self, value, dispatcher, tracker, domain) -> dict:
        answer = yes_no(str(value), self._intent(tracker))
        if answer is True:
            from bot.actions.core import handoff_events

            handoff_events(dispatcher, f"form_retries:{tracker.get_slot('flow_offer_human')}")
            return {"human_offer": "yes", "handoff": True, "flow_done": "handoff"}
        if answer is False:
            dispatcher.utter_message(text="好的，我们再试一次。")
            return {"human_offer": None, "flow_offer_human": None, "flow_tries": 0}
        dispatcher.utter_message(text="您说“要”或者“不要”就行。")
        return {"human_offer": None}

    # ------------------------------------------------------------ flow questions
    def _question(self, slot, value, dispatcher, tracker) -> dict:
        text = str(value or "")
        fix = self._route_correction(text, slot, dispatcher, tracker)
        if fix:
            return fix
        q = question_spec(tracker, slot)
        flow = tracker.get_slot("flow")
        kind = q.get("kind", "yesno")
        if kind == "yesno":
            answer = yes_no(text, self._intent(tracker), q.get("yes_words", ()), q.get("no_words", ()))
            if answer is None:
                return self._fail(slot, dispatcher, tracker, "您说“是”或者“不是”就行。")
            branch = q.get("on_yes" if answer else "on_no") or {}
            return self._branch(slot, "yes" if answer else "no", branch, flow, dispatcher)
        if kind == "choice":
            for option in q.get("options", []):
                if any(w in text for w in option["words"]):
                    return self._branch(slot, option["value"], option, flow, dispatcher)
            return self._fail(slot, dispatcher, tracker, "没听明白，您再说一下。")
        if kind == "age":
            return self._age(slot, text, q, flow, dispatcher, tracker)
        raise ValueError(f"unknown question kind {kind}")

    @staticmethod
    def _branch(slot, value, branch, flow, dispatcher) -> dict:
        say = specs.render(flow, branch.get("say"))
        if say:
            dispatcher.utter_message(text=say)
        out = {slot: value, "flow_tries": 0, "flow_offer_human": None}
        if branch.get("stop"):
            out["flow_done"] = branch["stop"]
            dispatcher.utter_message(text="还有别的事吗？")
        return out

    def _age(self, slot, text, q, flow, dispatcher, tracker) -> dict:
        if tracker.get_slot("flow_pending") == f"birth:{slot}":
            born = parse_birth(text)
            if born is None:
                return self._fail(slot, dispatcher, tracker, "没听清。比如说“一九四三年五月”。")
            age = age_from_birth(*born)
            dispatcher.utter_message(text=f"按周岁算，是{age}岁。")
        else:
            age, flag = parse_age(text)
            if flag:
                dispatcher.utter_message(text="虚岁、农历跟周岁差一两岁，我算一下。")
                return {slot: None, "flow_pending": f"birth:{slot}"}
            if age is None:
                return self._fail(slot, dispatcher, tracker, "没听清岁数。")
        minimum = specs.min_age(flow, q)
        out = self._ok(slot, str(age), flow_pending=None)
        if minimum is not None and age < minimum:
            m = specs.matter(flow)
            dispatcher.utter_message(text=f"按规定，满{minimum}周岁才能办。{specs.fact(m, 'eligibility')}。"
                                          f"到了岁数再来，我随时帮您登记。")
            out["flow_done"] = "ineligible"
        return out

    def validate_flow_q1(self, value, dispatcher, tracker, domain):
        return self._question("flow_q1", value, dispatcher, tracker)

    def validate_flow_q2(self, value, dispatcher, tracker, domain):
        return self._question("flow_q2", value, dispatcher, tracker)

    def validate_flow_q3(self, value, dispatcher, tracker, domain):
        return self._question("flow_q3", value, dispatcher, tracker)

    def validate_flow_register(self, value, dispatcher, tracker, domain) -> dict:
        answer = yes_no(str(value), self._intent(tracker))
        if answer is None:
            return self._fail("flow_register", dispatcher, tracker, "您说“要”或者“不要”就行。")
        if answer is False:
            m = specs.matter(tracker.get_slot("flow"))
            dispatcher.utter_message(text=f"好的，先不登记。您可以直接去{specs.fact(m, 'where')}办。还有别的事吗？")
            return {"flow_register": "no", "flow_done": "declined"}
        spec = specs.spec(tracker.get_slot("flow"))
        out = self._ok("flow_register", "yes")
        if not spec.get("for_whom") and spec.get("fixed_for_whom"):
            out["for_whom"] = spec["fixed_for_whom"]
        return out

    # ------------------------------------------------------------ personal data
    def validate_for_whom(self, value, dispatcher, tracker, domain) -> dict:
        who = parse_for_whom(str(value))
        if who is None:
            return self._fail("for_whom", dispatcher, tracker, "没听明白是给谁办。")
        m = specs.matter(tracker.get_slot("flow"))
        if who != "self" and m is not None:
            proxy = m["proxy"]
            note = specs.fact(m, "proxy")
            dispatcher.utter_message(text=f"提醒一下：{note}。" if not proxy.get("allowed") else f"{note}。")
        return self._ok("for_whom", who)

    def validate_applicant_name(self, value, dispatcher, tracker, domain) -> dict:
        name = parse_name(str(value))
        ok, reason = validate_name(name)
        if not ok:
            return self._fail("applicant_name", dispatcher, tracker, f"{reason}。")
        dispatcher.utter_message(text=f"好的，{read_back_name(name[:1])}。")
        return self._ok("applicant_name", name)

    def validate_id_number(self, value, dispatcher, tracker, domain) -> dict:
        text = str(value or "")
        spec = specs.spec(tracker.get_slot("flow")) or {}
        if spec.get("id") == "optional" and any(w in text for w in _DONT_KNOW):
            dispatcher.utter_message(text="没关系，不记得也能办。")
            return self._ok("id_number", UNKNOWN_ID, id_confirm="skip", id_partial=None)
        fix = self._route_correction(text, "id_number", dispatcher, tracker)
        if fix:
            return fix
        pending = tracker.get_slot("flow_pending") or ""
        if pending.startswith("id_heard:") and parse_correction(text):
            # "最后四位是……" right after a number that failed the check: fix that number
            fixed = self._fix_id(pending.split(":", 1)[1], text)
            if fixed:
                return self._ok("id_number", fixed, id_partial=None, flow_pending=None)
            return self._fail("id_number", dispatcher, tracker, "改完以后号码还是不对。我们从头再说一遍。")
        buffer = DigitBuffer(18, tracker.get_slot("id_partial") or "")
        if not buffer.add(text):
            return self._fail("id_number", dispatcher, tracker, "没听到号码。")
        if buffer.too_long:
            return self._fail("id_number", dispatcher, tracker,
                              f"我听到了{len(buffer.digits)}位，多了。我们从头再来。", id_partial=None)
        if not buffer.complete:
            return {"id_number": None, "id_partial": buffer.digits}
        ok, number, reason = validate_id_number(buffer.digits)
        if not ok:
            return self._fail("id_number", dispatcher, tracker,
                              explain(reason) + "您可以从头再说一遍，也可以只说哪几位错了。",
                              id_partial=None, flow_pending=f"id_heard:{number}")
        return self._ok("id_number", number, id_partial=None, flow_pending=None)

    def _confirm_number(self, text, tracker, dispatcher, slot: str, confirm: str, fixer, is_full,
                        cleared: dict) -> dict:
        """The read-back answer for a number: a correction, a whole new number, yes, or no."""
        if parse_correction(text) or is_full(to_digits(text)):
            fixed = fixer(tracker.get_slot(slot), text)
            if fixed:
                return {slot: fixed, confirm: None}
            return self._fail(confirm, dispatcher, tracker, "改完以后号码还是不对。请从头再说一遍。", **{slot: None})
        answer = yes_no(text, self._intent(tracker))
        if answer is True:
            return self._ok(confirm, "yes")
        if answer is False:
            dispatcher.utter_message(text="好的，那请您再说一遍。")
            return {slot: None, confirm: None, **cleared}
        return self._fail(confirm, dispatcher, tracker, "您说“对”或者“不对”就行。")

    def validate_id_confirm(self, value, dispatcher, tracker, domain) -> dict:
        return self._confirm_number(str(value or ""), tracker, dispatcher, "id_number", "id_confirm", self._fix_id,
                                    lambda digits: len(digits) == 18, {"id_partial": None})

    def validate_phone(self, value, dispatcher, tracker, domain) -> dict:
        text = str(value or "")
        fix = self._route_correction(text, "phone", dispatcher, tracker)
        if fix:
            return fix
        ok, number, reason = validate_phone(text)
        if not ok:
            return self._fail("phone", dispatcher, tracker, explain_phone(reason, len(number)) + "请再说一遍。")
        return self._ok("phone", number)

    def validate_phone_confirm(self, value, dispatcher, tracker, domain) -> dict:
        return self._confirm_number(str(value or ""), tracker, dispatcher, "phone", "phone_confirm", self._fix_phone,
                                    lambda digits: len(digits) >= 11, {})

    def validate_village(self, value, dispatcher, tracker, domain) -> dict:
        text = str(value or "")
        fix = self._route_correction(text, "village", dispatcher, tracker)
        if fix:
            return fix
        place = parse_place(text)
        if place is None:
            return self._fail("village", dispatcher, tracker, "没听清地方。")
        return self._ok("village", place)

    def validate_flow_confirm(self, value, dispatcher, tracker, domain) -> dict:
        text = str(value or "")
        fix = self._route_correction(text, "flow_confirm", dispatcher, tracker)
        if fix:
            return {**fix, "flow_pending": None}
        if any(k in text for k in _FIELD_WORDS) and "住" not in text and "村" not in text:
            # names a field but changes nothing ("名字是耳东陈" for 陈小明): not a yes
            dispatcher.utter_message(text="好的，这一项没有变。")
            return {"flow_confirm": None, "flow_pending": None}
        if tracker.get_slot("flow_pending") == "fix":
            place = parse_place(text) if ("住" in text or "村" in text) else None
            if place:
                return {"village": place, "flow_confirm": None, "flow_pending": None}
        answer = yes_no(text, self._intent(tracker))
        if answer is True and tracker.get_slot("flow_pending") != "fix":
            return self._ok("flow_confirm", "yes", flow_done="confirmed")
        if answer is False or tracker.get_slot("flow_pending") == "fix":
            return {"flow_confirm": None, "flow_pending": "fix"}
        return self._fail("flow_confirm", dispatcher, tracker, "您说“对”或者“不对”就行。")


# ---------------------------------------------------------------- questions
def ask_text(slot: str, tracker: Tracker) -> tuple[list[str], list[dict]]:
    """(texts, events) for asking `slot`; exactly one question, last."""
    flow = tracker.get_slot("flow")
    spec = specs.spec(flow) or {}
    voice = is_voice(tracker)
    events = [SlotSet("flow_asked", slot)]
    first_time = tracker.get_slot("flow_asked") != slot
    if slot == "flow":
        return ["您要办哪件事？比如补办身份证、高龄津贴、低保。"], events
    if slot == "human_offer":
        return ["我还是没听清。给您转人工好不好？"], events
    if slot in specs.QUESTION_SLOTS:
        q = question_spec(tracker, slot)
        if tracker.get_slot("flow_pending") == f"birth:{slot}":
            return ["是哪年哪月出生的？按身份证上的说。"], events
        before = specs.render(flow, q.get("before")) if first_time else ""
        return [t for t in (before, q["ask"]) if t], events
    if slot == "flow_register":
        if spec.get("register_as") == "help_request":
            return [specs.render(flow, specs.common("help_ask"))], events
        return [specs.common("register_ask")], events
    if slot == "for_whom":
        return ["是给谁办？给您自己，还是给家里人？"], events
    who = who_label(tracker)
    subject = "您" if who == "您本人" else who
    if slot == "applicant_name":
        return [f"{subject}叫什么名字？"], events
    if slot == "id_number":
        partial = tracker.get_slot("id_partial")
        if partial:
            missing = DigitBuffer(18, partial).missing
            return [f"好的，记下了{len(partial)}位，还差{missing}位，请接着说。"], events
        if spec.get("id") == "optional":
            return [f"{subject}的身份证号还记得吗？记得就一位一位说；不记得就说“不记得”。"], events
        return [f"请说一下{subject}的身份证号，一位一位地说。"], events
    if slot == "id_confirm":
        return [f"我念一遍：{read_id(tracker.get_slot('id_number') or '', voice)}。对吗？"], events
    if slot == "phone":
        return ["留一个手机号，工作人员好联系。请一位一位地说。"], events
    if slot == "phone_confirm":
        return [f"我念一遍：{read_phone(tracker.get_slot('phone') or '', voice)}。对吗？"], events
    if slot == "village":
        return [f"{subject}住在哪个乡镇、哪个村？"], events
    if slot == "flow_confirm":
        if tracker.get_slot("flow_pending") == "fix":
            return ["您说哪一项不对？比如“名字是耳东陈”，或者“电话是幺三八……”。"], events
        return [summary_text(tracker)], events
    raise KeyError(slot)


def summary_text(tracker: Tracker) -> str:
    """Masked summary for the final check: surname only, last four digits of the phone."""
    spec = specs.spec(tracker.get_slot("flow")) or {}
    name = tracker.get_slot("applicant_name") or ""
    phone = tracker.get_slot("phone") or ""
    who = who_label(tracker)
    parts = [f"我核对一下：给{who}登记{spec.get('title', '')}", f"姓{name[:1]}" if name else "",
             f"电话尾号{phone[-4:]}" if phone else "", f"住{tracker.get_slot('village')}"
             if tracker.get_slot("village") else ""]
    return "，".join(p for p in parts if p) + "。对吗？"


class _AskSlot(Action):
    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def run(self, dispatcher, tracker, domain):
        texts, events = ask_text(self.slot, tracker)
        for text in texts:
            dispatcher.utter_message(text=text)
        return events


# One ask action per form slot (rasa_sdk registers every Action subclass).
ASK_ACTIONS = {slot: type(f"ActionAsk_{slot}", (_AskSlot,), {"slot": slot}) for slot in FORM_SLOTS}
