"""The one guided form `flow_form`: which slots to ask (from the flow spec), how each
answer is validated (validate_<slot>), and how each question is asked (action_ask_<slot>).

Rules of the conversation: one question per turn, marked for the channels with
``{"event": "ask", "key", "expect", "rate"}`` (keys in flow_specs.yaml ``asks``); commands work
at every step (再说一遍 / 说慢点 -> the question again, short; 等一下 -> wait; 算了 -> confirm, then
stop; 转人工 -> a person; said in other words, the learned reader's command counts when the words
are not an answer to the question asked); a question about the matter is answered and the question asked
again; misses climb a ladder (simpler with an example -> two choices or the keypad -> offer a
person after the third; a caller who twice cannot hear one question is offered a person);
corrections ("不对，最后四位是一二三叉", "名字是耳东陈") work at any step; ID and phone numbers appear in clear only in the read-back the caller is asked to check.
Emergencies never reach these validators: their intents are not mapped to form slots.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import re

from bot.actions import flow_specs as specs
from bot.actions.core import handoff_events
from bot.actions.parse import age_from_birth, parse_age, parse_birth, resolve_place
from bot.actions.workorders import caller_phone
from bot.nlu import acts
from catalogue.answers import fact_sentences
from textnorm import answers
from textnorm.idcard import (REASON_BIRTH, REASON_CHARS, REASON_CHECK, REASON_LENGTH, REASON_REGION,
                             validate_id_number)
from textnorm.phone import (NAME_PARTS, WRONG_LENGTH, correct_name, parse_name, read_back_name, validate_name,
                            validate_phone)
from textnorm.spoken_numbers import (DigitBuffer, parse_correction, read_id, read_phone, restated, spoken_digits,
                                    to_digits)

FORM = "flow_form"
FORM_SLOTS = ("flow", "human_offer", "flow_q1", "flow_q2", "flow_q3", "flow_register", "for_whom",
              "applicant_name", "id_number", "id_confirm", "phone", "phone_confirm", "village", "flow_confirm")
# Slots the flow actions set themselves (reset when a flow starts or ends).
STATE_SLOTS = ("flow_done", "flow_tries", "flow_offer_human", "flow_asked", "flow_pending", "id_partial",
               "flow_request_id", "flow_place", "phone_partial")
UNKNOWN_ID = "unknown"
NO_PHONE = "none"
MAX_TRIES = 3          # the third miss at one question offers a person
_FIELD_WORDS = ("名字", "姓", "电话", "手机", "身份证", "号码")
_WAIT = re.compile(r"等一下|等等|稍等|等哈|等一哈|等会|等下|你等|侬等|等一歇|等歇|等阵|等一阵|等一等|等一刻|"
                   r"我去(拿|找|翻|看|问|寻|搵|取|摸)|我找(一?下|找)|找一下|拿一下|"
                   r"去拿|去找|等我")
# The caller does not hear the question (not just "再说一遍"): twice at one question, a person is offered
_UNHEARD = re.compile(r"大点声|大声[点些]|大声一点|听不见|听不清|听不到|听不着|没听见|没听清|听勿清|听唔到|听唔清|"
                      r"^[啥什么咩][？?]|你(?:说|讲)(?:啥|什么|撒子|么子|咩)")
_QUESTION = re.compile(r"吗|啥|什么|多少|哪|怎么|咋|几|多久|要不要|能不能|可不可以|[不没]$|么$|撒子|么子")
_ASPECT_INTENTS = {"ask_materials": "materials", "ask_fee": "fee", "ask_time": "time", "ask_where": "where",
                   "ask_online": "online", "ask_proxy": "proxy", "ask_eligibility": "eligibility"}
_ASPECT_WORDS = (("materials", r"带|材料|证件|东西|手续|准备"), ("fee", r"钱|费|收费|花"),
                 ("time", r"多久|几天|多长时间|多少天|时间"), ("where", r"哪里|哪儿|在哪|去哪|地方|哪个窗口"),
                 ("proxy", r"代办|替|帮他|帮她|本人"))
# Why a number or name was not taken -> the domain response that says so (bot/domain/forms.yml).
_ID_REASONS = {REASON_LENGTH: "utter_form_id_length", REASON_CHECK: "utter_form_id_check",
               REASON_BIRTH: "utter_form_id_birth", REASON_REGION: "utter_form_id_region",
               REASON_CHARS: "utter_form_id_chars"}
_NAME_REASONS = {"没听清名字": "utter_form_name_unheard", "名字要说中文": "utter_form_name_chinese",
                 "没听清名字，请只说名字": "utter_form_name_only", "请说名字": "utter_form_name_say",
                 "请说全名，姓和名都要": "utter_form_name_full"}


say = specs.say   # the form composes its sentences from several responses of the domain


def command_of(text: str) -> str | None:
    """repeat | slow_down | wait | stop_flow | request_human, decided by the same rules as the NLU."""
    act = acts.classify(text or "")
    if act in ("repeat", "slow_down", "stop_flow", "request_human"):
        return act
    # "哎呀算了算了，我手机号也记不清，不办了，等我儿子回来…": a clause that cancels;
    # "你这机器说话俺听不大明白，你给俺转个人工": a clause that asks for a person
    parts = [acts.classify(c) for c in _clauses(text)]
    for command in ("request_human", "stop_flow"):
        if command in parts:
            return command
    plain = re.sub(r"[^\u4e00-\u9fff]", "", text or "")
    if len(plain) <= 20 and _WAIT.search(plain) and not spoken_digits(_WAIT.sub("", text or "")):
        return "wait"   # "幺三八等一下" is digits said slowly, not a pause
    return None


def _clauses(text: str) -> list[str]:
    # "…" is a pause between two things said ("我背不到……算了算了")
    return [c for c in re.split(r"[，,。！!？?；;\s…]+", text or "") if c]


_STOP_LEAD = re.compile(r"^(?:那|就|那就|哎呀|哦|啊|哎)+")


def flat_cancel(clause: str) -> bool:
    """A clause that only cancels ("那算了", "不办了", "算了算了"), unlike one that puts off a part
    of the matter ("老伴儿的回头再说"): nothing is left but the cancel words."""
    core = _STOP_LEAD.sub("", clause).rstrip("啊呀吧嘛哦呢啦嘞咧哈哒咯喽")
    return acts.classify(clause) == "stop_flow" and len(core) <= 4


_NEGATED = re.compile(r"(?:没有|不是|没|不|勿|唔|冇|莫)$")


def pick_option(text: str, options: list[dict]) -> dict | None:
    """The option the caller chose; a negated word does not choose ("没坏，就是到日子了",
    "不是到期，是坏了"). The option said first wins."""
    best = None
    for option in options:
        for w in option["words"]:
            for m in re.finditer(re.escape(w), text or ""):
                if _NEGATED.search(text[max(0, m.start() - 2):m.start()]):
                    continue
                if best is None or m.start() < best[0]:
                    best = (m.start(), option)
                break
    return best[1] if best else None


def aspect_question(text: str, intent: str | None) -> str | None:
    """The aspect a mid-form question asks about ("要带啥子东西" -> materials), else None."""
    t = text or ""
    if not _QUESTION.search(t):
        return None
    if intent in _ASPECT_INTENTS:
        return _ASPECT_INTENTS[intent]
    for aspect, pattern in _ASPECT_WORDS:
        if re.search(pattern, t):
            return aspect
    return None


def _last_bot_text(tracker: Tracker) -> str:
    """What the bot said since the caller's previous words (the question being answered)."""
    said, seen_user = [], False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                break
            seen_user = True
        elif event.get("event") == "bot" and seen_user:
            said.append(event.get("text") or "")
    return "".join(reversed(said))


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


def learned_command(text: str) -> str | None:
    """A command in the caller's own words ("俺要跟活人说话", "你讲得咯快"), read by the learned
    reader when the rules know none; the front door asks only for words that are not an answer
    to the question the form is waiting for (the form's state decides, not the words alone)."""
    found = acts.learned_act(text or "")
    if found is not None and found[0] in ("repeat", "slow_down", "stop_flow", "request_human"):
        return found[0]


def flow_matter(tracker: Tracker) -> dict | None:
    """The catalogue matter of the flow (the generic flow registers the matter being talked about)."""
    flow = tracker.get_slot("flow")
    if flow == specs.GENERIC:
        return specs.catalogue().get(_generic_matter(tracker) or "")
    return specs.matter(flow) if flow else None


def _generic_matter(tracker: Tracker) -> str | None:
    """The matter talked about when the generic flow started: the answers inside the form
    ("我儿子" -> 投靠落户) may set the matter slot again, the offer taken up stays what it was."""
    current = pinned = None
    for e in tracker.events:
        if e.get("event") != "slot":
            continue
        if e.get("name") == "matter":
            current = e.get("value")
        elif e.get("name") == "flow" and e.get("value") == specs.GENERIC:
            pinned = current
    return pinned or tracker.get_slot("matter")


class ValidateFlowForm(FormValidationAction):
    def name(self) -> str:
        return "validate_flow_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        return required_slots_for(tracker)

    async def run(self, dispatcher, tracker, domain):
        # One front door for every slot: commands, a pending cancel, questions about the matter.
        slot = tracker.get_slot("requested_slot")
        text = tracker.latest_message.get("text") or ""
        if slot is None:
            # The form starts: the slots action_start_flow just reset, and the opening words Rasa
            # maps to every from_text slot, are not answers (they made the first question fail).
            i = len(tracker.events)
            while i > 0 and tracker.events[i - 1].get("event") == "slot":
                i -= 1
            dropped = {e.get("name") for e in tracker.events[i:]
                       if e.get("value") is None or (e.get("value") == text and e.get("name") != "flow")}
            tracker.events[i:] = [e for e in tracker.events[i:] if e.get("name") not in dropped
                                  or e.get("value") is not None and e.get("value") != text]
            opening = [SlotSet(n, None) for n in sorted(dropped) if n in FORM_SLOTS and tracker.slots.get(n) == text]
            for event in opening:
                tracker.slots[event["name"]] = None
            return opening + await super().run(dispatcher, tracker, domain)
        if slot and slot in tracker.slots_to_validate():
            handled = self._front_door(slot, text, dispatcher, tracker)
            if handled is not None:
                events = [SlotSet(k, v) for k, v in handled.items()]
                tracker.add_slots(events)
                # our required_slots (not the domain's list) decide what is asked next
                following = await self.next_requested_slot(dispatcher, tracker, domain)
                return events + ([following] if following else [])
        return await super().run(dispatcher, tracker, domain)

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _ok(slot: str, value: Any, **more: Any) -> dict:
        return {slot: value, "flow_tries": 0, "flow_offer_human": None, **more}

    @staticmethod
    def _fail(slot: str, dispatcher: CollectingDispatcher, tracker: Tracker, message: str, **more: Any) -> dict:
        """A miss: say why; the ask action then asks more simply (2nd) or offers choices (3rd);
        after the third a person is offered."""
        tries = int(tracker.get_slot("flow_tries") or 0) + 1
        if message:
            dispatcher.utter_message(text=message)
        out = {slot: None, "flow_tries": tries, **more}
        if tries >= MAX_TRIES:
            out["flow_offer_human"] = slot
        return out

    @staticmethod
    def _intent(tracker: Tracker) -> str | None:
        return (tracker.latest_message.get("intent") or {}).get("name")

    def _front_door(self, slot: str, text: str, dispatcher, tracker) -> dict | None:
        pending = tracker.get_slot("flow_pending") or ""
        if pending == "cancel":
            answer = answers.yes_no(text, "不办了吗") if command_of(text) != "stop_flow" else True
            if answer is True:
                dispatcher.utter_message(response="utter_flow_cancelled")
                dispatcher.utter_message(json_message={"event": "flow_end", "outcome": "stopped"})
                return {slot: None, "flow_done": "stopped", "flow_pending": None}
            if answer is False or command_of(text) is None:
                dispatcher.utter_message(response="utter_flow_go_on")
                return {slot: None, "flow_pending": None, "flow_asked": None}
        command = command_of(text)
        if command is None and not self._gives(slot, text, tracker) and not self._answers_slot(slot, text, tracker):
            command = learned_command(text)
        if command == "request_human":
            events = handoff_events(dispatcher, "user_request")
            return {slot: None, "flow_done": "handoff", "handoff": True, **{e["name"]: e["value"] for e in events}}
        if command == "stop_flow":
            if slot == "flow_register":
                return None  # "不用登记" answers the question itself
            rest = "，".join(c for c in _clauses(text) if acts.classify(c) != "stop_flow")
            if rest and not any(flat_cancel(c) for c in _clauses(text)) and self._gives(slot, rest, tracker):
                return None   # "俺自个儿，老伴儿的回头再说": the answer, and something put off for later
            return {slot: None, "flow_pending": "cancel"}
        if command in ("repeat", "slow_down"):
            # "你再念一遍嘛……嗯，对的": asked again, heard it, answered in the same breath
            rest = "，".join(c for c in re.split(r"[，,。！!？?；;\s…]+", text)
                            if c and acts.classify(c) not in ("repeat", "slow_down"))
            if rest and len(rest) < len(text) and self._gives(slot, rest, tracker):
                return None
        if command in ("repeat", "slow_down") and _UNHEARD.search(text) and self._asked_to_repeat_before(slot, tracker):
            # "你说慢点，大点声" then "啥？你说啥？": the caller cannot hear the question; a person may help
            return {slot: None, "flow_offer_human": slot, "flow_pending": "unheard"}
        if command == "repeat":
            return {slot: None, "flow_pending": "repeat"}
        if command == "slow_down":
            dispatcher.utter_message(response="utter_slow_down")
            return {slot: None, "flow_pending": "repeat", "speech_rate": "slow"}
        if command == "wait":
            dispatcher.utter_message(response="utter_flow_wait")
            return {slot: None, "flow_pending": "wait"}
        switched = self._switch_flow(slot, text, dispatcher, tracker)
        if switched is not None:
            return switched
        if self._intent(tracker) == "emergency_check" and not self._parses(slot, text, tracker):
            # Maybe an emergency, and not an answer to the question: say the number first.
            dispatcher.utter_message(response="utter_emergency_check")
            return {slot: None, "flow_pending": "repeat"}
        aspect = aspect_question(text, self._intent(tracker))
        if aspect and not self._parses(slot, text, tracker):
            matter = flow_matter(tracker)
            if matter is not None:
                facts = fact_sentences(matter, aspect)
                dispatcher.utter_message(text="".join(facts[:4] if is_voice(tracker) else facts))
            return {slot: None, "flow_pending": "repeat"}
        return None

    @staticmethod
    def _asked_to_repeat_before(slot: str, tracker) -> bool:
        """The caller's previous words asked for this same question again (repeat or slower, "你说慢点，大点声")."""
        users = [e for e in reversed(tracker.events) if e.get("event") == "user"][1:2]
        return bool(users) and tracker.get_slot("flow_asked") == slot \
            and command_of(users[0].get("text") or "") in ("repeat", "slow_down")

    def _switch_flow(self, slot: str, text: str, dispatcher, tracker) -> dict | None:
        """"能不能直接办个临时身份证" while asked whether the lost card was stolen: the caller names
        another matter and answers nothing, so that matter's flow starts (what is known of the
        beneficiary stays). A clause naming another matter beside an answer is a side remark."""
        current = tracker.get_slot("flow")
        if slot not in (*specs.QUESTION_SLOTS, "flow_register") or current == specs.GENERIC:
            return None
        said = specs.flows_said(text)
        new = specs.flow_trigger(text)
        if not said or current in said or new is None or new == current \
                or new in (specs.spec(current) or {}).get("prefer_over", ()):
            return None   # a flow the current one prefers over is part of it (the dead person's lost card)
        if new in specs.flows_said(_last_bot_text(tracker)):
            return None   # "在领养老金" to "老人生前在领养老金吗？": the question's words said back
        rest = "，".join(c for c in _clauses(text) if not specs.flows_said(c))
        if rest and self._parses(slot, rest, tracker):
            return None
        spec = specs.spec(new)
        dispatcher.utter_message(text=spec.get("start", "好的。"))
        keep = {"for_whom": tracker.get_slot("for_whom")} if spec.get("for_whom") else {}
        if not spec.get("for_whom") and spec.get("fixed_for_whom"):
            keep = {"for_whom": spec["fixed_for_whom"]}
        cleared = {s: None for s in FORM_SLOTS + STATE_SLOTS if s != "flow_request_id"}
        return {**cleared, **keep, "flow": new, "matter": spec["matter"]}

    def _parses(self, slot: str, text: str, tracker) -> bool:
        """Whether the text is a plausible answer to the slot's question (so a vague
        'maybe an emergency' reading of it does not interrupt the form)."""
        if slot in specs.QUESTION_SLOTS:
            q = question_spec(tracker, slot)
            if q.get("kind") == "age":
                return parse_age(text)[0] is not None
            return self._answers_slot(slot, text, tracker)
        if slot == "for_whom":
            return answers.relation(text) is not None
        if slot in ("id_number", "phone"):
            return bool(spoken_digits(text)) or answers.dont_know(text) or answers.no_phone(text) \
                or slot == "phone" and answers.this_number(text)
        if slot == "applicant_name":
            return validate_name(parse_name(text))[0] and len(parse_name(text)) <= 4
        if slot == "village":
            return resolve_place(text)[0] is not None or bool(resolve_place(text)[1])
        return answers.yes_no(text, "对吗") is not None

    def _gives(self, slot: str, text: str, tracker) -> bool:
        """Whether the text gives the slot's value itself (not "不记得" / "没有电话")."""
        if slot in ("id_number", "phone"):
            return len(spoken_digits(text)) >= 3
        return self._parses(slot, text, tracker)

    def _answers_slot(self, slot: str, text: str, tracker) -> bool:
        """Whether a question-shaped utterance is still an answer ("不够吗？哪里够").""" 
        if slot in specs.QUESTION_SLOTS:
            q = question_spec(tracker, slot)
            if q.get("kind") == "yesno":
                return answers.yes_no(text, q.get("ask", ""), q.get("yes_words", ()), q.get("no_words", ())) \
                    is not None and not re.search(r"[吗么]$|[吗么][？?]$", text.strip())
            if q.get("kind") == "choice":
                return pick_option(text, q.get("options", [])) is not None
        return False

    def _route_correction(self, text: str, slot: str, dispatcher, tracker) -> dict | None:
        """A correction of another, already filled slot ("名字是耳东陈" while asked for the phone)."""
        name = tracker.get_slot("applicant_name")
        if name and slot != "applicant_name" and ("名字" in text or re.search(r"^(?:不对，?)?姓", text)
                                                   or any(d in text for d in NAME_PARTS)):
            new = correct_name(name, text)
            if validate_name(new)[0] and new != name:
                dispatcher.utter_message(response="utter_flow_name_changed", name=new)
                return {slot: None, "applicant_name": new}
        number = tracker.get_slot("id_number")
        if number and number != UNKNOWN_ID and "身份证" in text and slot not in ("id_number", "id_confirm"):
            fixed = self._fix_id(number, text)
            if fixed:
                return {slot: None, "id_number": fixed, "id_confirm": None}
        phone = tracker.get_slot("phone")
        if phone and phone != NO_PHONE and ("电话" in text or "手机" in text) \
                and slot not in ("phone", "phone_confirm"):
            fixed = self._fix_phone(phone, text)
            if fixed:
                return {slot: None, "phone": fixed, "phone_confirm": None}
        return None

    @staticmethod
    def _fix_id(number: str, text: str) -> str | None:
        correction = parse_correction(text)
        candidate = correction.apply(number) if correction else None
        if candidate is None:
            candidate = restated(text, 18) or (to_digits(text) if len(to_digits(text)) == 18 else None)
        if candidate and validate_id_number(candidate)[0]:
            return candidate
        return None

    @staticmethod
    def _fix_phone(phone: str, text: str) -> str | None:
        correction = parse_correction(text)
        candidate = correction.apply(phone) if correction else (restated(text, 11) or to_digits(text))
        if candidate and validate_phone(candidate)[0]:
            return candidate
        return None

    # ------------------------------------------------------------ which flow
    def validate_flow(self, value, dispatcher, tracker, domain) -> dict:
        if value in specs.flows():
            return {"flow": value}
        flow = specs.pick_flow(str(value or ""), tracker.get_slot("matter"))
        if flow is None:
            return self._fail("flow", dispatcher, tracker, "")
        spec = specs.spec(flow)
        dispatcher.utter_message(text=spec.get("start", "好的。"))
        return self._ok("flow", flow, matter=spec["matter"])

    # ------------------------------------------------------------ human offer
    def validate_human_offer(self, value, dispatcher, tracker, domain) -> dict:
        answer = answers.yes_no(str(value), "转人工好不好")
        if answer is True:
            handoff_events(dispatcher, f"form_retries:{tracker.get_slot('flow_offer_human')}")
            return {"human_offer": "yes", "handoff": True, "flow_done": "handoff"}
        if answer is False:
            dispatcher.utter_message(response="utter_flow_try_again")
            unheard = {"flow_pending": None} if tracker.get_slot("flow_pending") == "unheard" else {}
            return {"human_offer": None, "flow_offer_human": None, "flow_tries": 0, **unheard}
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
        tries = int(tracker.get_slot("flow_tries") or 0)
        if kind == "yesno":
            answer = answers.yes_no(text, q.get("ask", ""), q.get("yes_words", ()), q.get("no_words", ()),
                                    q.get("late_no_words", ()))
            if answer is None and tries >= 1 and text.strip() in ("1", "2"):
                answer = text.strip() == "1"   # the keypad, offered after a miss
            if answer is None:
                return self._fail(slot, dispatcher, tracker, "")
            key = "yes" if answer else "no"
            branch = q.get("on_yes" if answer else "on_no") or {}
            return self._branch(slot, (q.get("values") or {}).get(key, key), branch, flow, dispatcher)
        if kind == "choice":
            options = q.get("options", [])
            if tries >= 1 and text.strip() in [str(i) for i in range(1, len(options) + 1)]:
                option = options[int(text.strip()) - 1]
                return self._branch(slot, option["value"], option, flow, dispatcher)
            option = pick_option(text, options)
            if option is not None:
                return self._branch(slot, option["value"], option, flow, dispatcher)
            return self._fail(slot, dispatcher, tracker, "")
        if kind == "age":
            return self._age(slot, text, q, flow, dispatcher, tracker)
        raise ValueError(f"unknown question kind {kind}")

    @staticmethod
    def _branch(slot, value, branch, flow, dispatcher) -> dict:
        say = specs.render(flow, branch.get("say"))
        if say:
            dispatcher.utter_message(text=say)
        out = {slot: value, "flow_tries": 0, "flow_offer_human": None, "flow_pending": None}
        if branch.get("stop"):
            out["flow_done"] = branch["stop"]
            dispatcher.utter_message(json_message={"event": "flow_end", "outcome": branch["stop"]})
            dispatcher.utter_message(response="utter_anything_else")
        return out

    def _age(self, slot, text, q, flow, dispatcher, tracker) -> dict:
        if tracker.get_slot("flow_pending") == f"birth:{slot}":
            born = parse_birth(text)
            if born is None:
                return self._fail(slot, dispatcher, tracker, "", flow_pending=f"birth:{slot}")
            age = age_from_birth(*born)
            dispatcher.utter_message(response="utter_full_years", age=age)
        else:
            age, flag = parse_age(text)
            born = parse_birth(text) if flag else None
            minimum = specs.min_age(flow, q)
            if born is not None:   # "虚岁八十了，伊是四七年三月里生个": the birth month is said already
                age, flag = age_from_birth(*born), None
                dispatcher.utter_message(response="utter_full_years", age=age)
            if flag and age is not None and (minimum is None or abs(age - minimum) > 2):
                flag = None   # 虚岁/农历 move the age by a year or two: it matters only near the threshold
            if flag:
                dispatcher.utter_message(response="utter_age_reckon")
                return {slot: None, "flow_pending": f"birth:{slot}"}
            if age is None:
                return self._fail(slot, dispatcher, tracker, "")
        minimum = specs.min_age(flow, q)
        out = self._ok(slot, str(age), flow_pending=None)
        if minimum is not None and age < minimum:
            m = specs.matter(flow)
            if age >= minimum - int(q.get("near_years") or 0):
                dispatcher.utter_message(response="utter_age_nearly", minimum=minimum)
                return out
            eligibility = specs.fact(m, "eligibility")
            if is_voice(tracker):   # three sentences on the phone: the age, who may apply, when to call
                eligibility = specs.voice_sentences(eligibility, keep=1).rstrip("。")
            dispatcher.utter_message(response="utter_age_under", minimum=minimum, eligibility=eligibility)
            dispatcher.utter_message(json_message={"event": "flow_end", "outcome": "ineligible"})
            out["flow_done"] = "ineligible"
        return out

    def validate_flow_q1(self, value, dispatcher, tracker, domain):
        return self._question("flow_q1", value, dispatcher, tracker)

    def validate_flow_q2(self, value, dispatcher, tracker, domain):
        return self._question("flow_q2", value, dispatcher, tracker)

    def validate_flow_q3(self, value, dispatcher, tracker, domain):
        return self._question("flow_q3", value, dispatcher, tracker)

    def validate_flow_register(self, value, dispatcher, tracker, domain) -> dict:
        text = str(value)
        answer = False if command_of(text) == "stop_flow" else answers.yes_no(text, "要我帮您登记吗")
        if answer is None:
            return self._fail("flow_register", dispatcher, tracker, "")
        if answer is False:
            m = flow_matter(tracker)
            dispatcher.utter_message(response="utter_offer_declined", where=specs.fact(m, "where"))
            dispatcher.utter_message(json_message={"event": "flow_end", "outcome": "declined"})
            dispatcher.utter_message(response="utter_anything_else")
            return {"flow_register": "no", "flow_done": "declined"}
        spec = specs.spec(tracker.get_slot("flow"))
        out = self._ok("flow_register", "yes")
        if not spec.get("for_whom") and spec.get("fixed_for_whom"):
            out["for_whom"] = spec["fixed_for_whom"]
        return out

    # ------------------------------------------------------------ personal data
    def validate_for_whom(self, value, dispatcher, tracker, domain) -> dict:
        if value in specs.FOR_WHOM_LABELS:   # set by action_start_flow from the opening words
            return self._ok("for_whom", value)
        who = answers.relation(str(value))
        if who is None:
            return self._fail("for_whom", dispatcher, tracker, "")
        m = flow_matter(tracker)
        if who != "self" and m is not None:
            proxy = m["proxy"]
            note = specs.fact(m, "proxy")
            dispatcher.utter_message(response="utter_flow_proxy_note" if proxy.get("allowed") else "utter_flow_proxy_warning",
                                     note=note)
        return self._ok("for_whom", who)

    def validate_applicant_name(self, value, dispatcher, tracker, domain) -> dict:
        name = parse_name(str(value))
        ok, reason = validate_name(name)
        if not ok:
            return self._fail("applicant_name", dispatcher, tracker, say(domain, _NAME_REASONS[reason]))
        dispatcher.utter_message(response="utter_flow_name_read_back", name=read_back_name(name))
        return self._ok("applicant_name", name)

    def validate_id_number(self, value, dispatcher, tracker, domain) -> dict:
        text = str(value or "")
        spec = specs.spec(tracker.get_slot("flow")) or {}
        if _WAIT.search(text) and not spoken_digits(text):
            # "你等哈，我去翻户口本，身份证都掉了我记不到号码": she goes to look it up
            dispatcher.utter_message(response="utter_flow_wait")
            return {"id_number": None, "flow_pending": "wait"}
        known = len(tracker.get_slot("id_partial") or "") + len(spoken_digits(text))
        if answers.dont_know(text) and (len(spoken_digits(text)) < 4   # "幺爸" is an uncle, not a 1
                                        or spec.get("id") == "optional" and known < 18):
            # "前头是五幺零七二二，后头记不到了": where the number may be left out, a part of it is no number
            if spec.get("id") == "optional":
                dispatcher.utter_message(response="utter_flow_id_optional_skipped")
                return self._ok("id_number", UNKNOWN_ID, id_confirm="skip", id_partial=None)
            dispatcher.utter_message(response="utter_flow_id_skipped")
            return self._ok("id_number", UNKNOWN_ID, id_confirm="skip", id_partial=None)
        if answers.withholds(text) and not spoken_digits(text):
            # "我号码勿想在微信里打出来": the number is not said here; the office checks it in person
            dispatcher.utter_message(response="utter_flow_id_withheld")
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
            return self._fail("id_number", dispatcher, tracker, say(domain, "utter_form_id_fix_failed"))
        buffer = DigitBuffer(18, tracker.get_slot("id_partial") or "")
        if not buffer.add(text):
            return self._fail("id_number", dispatcher, tracker, say(domain, "utter_form_no_digits"))
        if buffer.too_long:
            return self._fail("id_number", dispatcher, tracker,
                              say(domain, "utter_form_id_too_long", count=len(buffer.digits)), id_partial=None)
        if not buffer.complete:
            return {"id_number": None, "id_partial": buffer.digits, "flow_pending": None}
        ok, number, reason = validate_id_number(buffer.digits)
        if not ok:
            return self._fail("id_number", dispatcher, tracker,
                              say(domain, _ID_REASONS.get(reason, "utter_form_id_wrong"), count=len(number))
                              + say(domain, "utter_form_id_again"),
                              id_partial=None, flow_pending=f"id_heard:{number}")
        return self._ok("id_number", number, id_partial=None, flow_pending=None)

    def _confirm_number(self, text, tracker, dispatcher, domain, slot: str, confirm: str, fixer, is_full,
                        cleared: dict) -> dict:
        """The read-back answer for a number: a correction, a whole new number, yes, or no."""
        if parse_correction(text) or is_full(to_digits(text)):
            fixed = fixer(tracker.get_slot(slot), text)
            if fixed:
                return {slot: fixed, confirm: None}
            return self._fail(confirm, dispatcher, tracker, say(domain, "utter_form_number_fix_failed"), **{slot: None})
        answer = answers.yes_no(text, "对吗")
        if answer is True:
            return self._ok(confirm, "yes")
        if answer is False:
            dispatcher.utter_message(response="utter_flow_say_again")
            return {slot: None, confirm: None, **cleared}
        return self._fail(confirm, dispatcher, tracker, "")

    def validate_id_confirm(self, value, dispatcher, tracker, domain) -> dict:
        return self._confirm_number(str(value or ""), tracker, dispatcher, domain, "id_number", "id_confirm", self._fix_id,
                                    lambda digits: len(digits) == 18, {"id_partial": None})

    def validate_phone(self, value, dispatcher, tracker, domain) -> dict:
        text = str(value or "")
        # "打我这个电话就行，我孙女没手机": the calling number, though someone has none
        this_number = answers.this_number(text) and len(to_digits(text)) < 7 and not tracker.get_slot("phone_partial")
        if answers.no_phone(text) and len(to_digits(text)) < 7 and not this_number:
            dispatcher.utter_message(response="utter_flow_no_phone")
            return self._ok("phone", NO_PHONE, phone_confirm="skip")
        fix = self._route_correction(text, "phone", dispatcher, tracker)
        if fix:
            return fix
        if this_number:
            number = caller_phone(tracker)
            if number:   # read back like a said number: phone_confirm asks
                return self._ok("phone", number, phone_partial=None)
            # a chat carries no number; a call may come without caller ID
            dispatcher.utter_message(response="utter_flow_phone_not_shown" if is_voice(tracker)
                                     else "utter_flow_phone_not_shown_chat")
            return {"phone": None, "phone_partial": None, "flow_pending": None}
        buffer = DigitBuffer(11, tracker.get_slot("phone_partial") or "")
        piece = buffer.add(text)   # corrections inside the number count ("幺三八，哎不对，是幺五八……")
        if piece and not buffer.too_long and not buffer.complete and len(buffer.digits) <= 8:
            return {"phone": None, "phone_partial": buffer.digits, "flow_pending": None}  # said in pieces
        ok, number, reason = validate_phone(buffer.digits or text)
        if not ok:
            why = "utter_form_phone_length" if reason == WRONG_LENGTH else "utter_form_phone_prefix"
            return self._fail("phone", dispatcher, tracker, say(domain, why, count=len(number)),
                              phone_partial=None)
        return self._ok("phone", number, phone_partial=None)

    def validate_phone_confirm(self, value, dispatcher, tracker, domain) -> dict:
        return self._confirm_number(str(value or ""), tracker, dispatcher, domain, "phone", "phone_confirm", self._fix_phone,
                                    lambda digits: len(digits) >= 11, {})

    def validate_village(self, value, dispatcher, tracker, domain) -> dict:
        text = str(value or "")
        fix = self._route_correction(text, "village", dispatcher, tracker)
        if fix:
            return fix
        pending = tracker.get_slot("flow_pending") or ""
        hint = pending.split(":")[1] if pending.startswith("place:") else None
        place, options = resolve_place(text, hint)
        if place and place.get("village"):   # read back in the summary that follows
            label = place["township"] + place["village"]
            return self._ok("village", label, flow_place=place, flow_pending=None)
        if options:
            towns = "|".join(o["township"] for o in options)
            return {"village": None, "flow_pending": f"place:{options[0]['village']}:{towns}"}
        if place and place.get("township"):
            if pending == f"village_of:{place['township']}" or int(tracker.get_slot("flow_tries") or 0) >= 1:
                return self._ok("village", place["township"], flow_place=place, flow_pending=None)
            return {"village": None, "flow_pending": f"village_of:{place['township']}",
                    "flow_tries": int(tracker.get_slot("flow_tries") or 0) + 1}
        if pending.startswith("village_of:"):
            town = pending.split(":", 1)[1]
            return self._ok("village", town, flow_place={"township": town}, flow_pending=None)
        words = re.sub(r"[，。,.!！?？\s]", "", text)
        if int(tracker.get_slot("flow_tries") or 0) >= 1 and len(re.findall(r"[\u4e00-\u9fff]", words)) >= 2:
            # not in the directory: keep the caller's words; a person checks the place
            return self._ok("village", words[:40], flow_place={"raw": words[:40]}, flow_pending=None)
        return self._fail("village", dispatcher, tracker, "")

    def validate_flow_confirm(self, value, dispatcher, tracker, domain) -> dict:
        text = str(value or "")
        fix = self._route_correction(text, "flow_confirm", dispatcher, tracker)
        if fix:
            return {**fix, "flow_pending": None}
        if any(k in text for k in _FIELD_WORDS) and "住" not in text and "村" not in text:
            # names a field but changes nothing ("名字是耳东陈" for 陈小明): not a yes
            dispatcher.utter_message(response="utter_flow_field_unchanged")
            return {"flow_confirm": None, "flow_pending": None}
        if tracker.get_slot("flow_pending") == "fix":
            place, _ = resolve_place(text, None) if ("住" in text or "村" in text or "镇" in text or "乡" in text) \
                else (None, [])
            if place and place.get("township"):
                label = (place.get("township") or "") + (place.get("village") or "")
                return {"village": label, "flow_place": place, "flow_confirm": None, "flow_pending": None}
        answer = answers.yes_no(text, "对吗")
        if answer is True and tracker.get_slot("flow_pending") != "fix":
            return self._ok("flow_confirm", "yes", flow_done="confirmed")
        if answer is False or tracker.get_slot("flow_pending") == "fix":
            return {"flow_confirm": None, "flow_pending": "fix"}
        return self._fail("flow_confirm", dispatcher, tracker, "")


# ---------------------------------------------------------------- questions
def ask_payload(slot: str, tracker: Tracker) -> dict:
    """{"event": "ask", "key", "expect", "rate"}: what answer comes next, for every channel."""
    pending = (tracker.get_slot("flow_pending") or "").split(":", 1)[0]
    asks = specs.asks()
    if pending in ("cancel", "birth", "fix") and pending in asks:
        entry = asks[pending]
    elif slot in specs.QUESTION_SLOTS:
        q = question_spec(tracker, slot)
        entry = {"key": q.get("key", slot), "expect": specs.question_expect(q.get("kind", "yesno"))}
    else:
        entry = None
    return specs.ask_event(slot, tracker, entry)


def _simpler(slot: str, tracker: Tracker, tries: int, domain: dict) -> str | None:
    """The question after a miss: 1st miss more simply with an example, 2nd two choices or the keypad."""
    if slot in specs.QUESTION_SLOTS:
        q = question_spec(tracker, slot)
        if q.get("kind") == "yesno":
            return q["ask"] + say(domain, "utter_form_hint_yesno" if tries == 1 else "utter_form_hint_yesno_keys")
        if q.get("kind") == "choice":
            words = [o["words"][0] for o in q.get("options", [])]
            if tries == 1:
                return q["ask"] + say(domain, "utter_form_hint_choice", word=words[0])
            return "，".join(say(domain, "utter_form_hint_choice_key", word=w, key=i)
                            for i, w in enumerate(words, 1)) + "。"
        return q["ask"] + say(domain, "utter_form_hint_age")
    hint = {"id_confirm": "confirm", "phone_confirm": "confirm", "flow_confirm": "confirm"}.get(slot, slot)
    name = f"utter_form_hint_{hint}"
    return say(domain, name) if name in domain["responses"] else None


def ask_text(slot: str, tracker: Tracker, domain: dict) -> tuple[list[str], list[dict]]:
    """(texts, events) for asking `slot`; exactly one question, last. The words are the domain's
    (bot/domain/forms.yml), the flows' own questions come from flow_specs.yaml."""
    flow = tracker.get_slot("flow")
    spec = specs.spec(flow) or {}
    voice = is_voice(tracker)
    pending = tracker.get_slot("flow_pending") or ""
    events = [SlotSet("flow_asked", slot)]
    if pending in ("repeat", "wait", "cancel"):
        events.append(SlotSet("flow_pending", None if pending != "cancel" else "cancel"))
    first_time = tracker.get_slot("flow_asked") != slot and pending not in ("repeat", "wait")
    tries = int(tracker.get_slot("flow_tries") or 0)
    if pending == "cancel":
        return [say(domain, "utter_form_ask_cancel")], events
    if tries and slot not in ("id_number", "human_offer") and not pending.startswith(("place:", "village_of:")):
        simpler = _simpler(slot, tracker, min(tries, 2), domain)
        if simpler:
            return [simpler], events
    if slot == "flow":
        return [say(domain, "utter_form_ask_flow")], events
    if slot == "human_offer":
        unheard = pending == "unheard"   # the caller asked twice to hear the question again
        return [say(domain, "utter_form_ask_human_offer_unheard" if unheard else "utter_form_ask_human_offer")], events
    if slot in specs.QUESTION_SLOTS:
        q = question_spec(tracker, slot)
        if pending == f"birth:{slot}":
            return [say(domain, "utter_form_ask_birth")], events
        before = specs.render(flow, q.get("before")) if first_time else ""
        if before and voice:
            # at most three sentences before the question: the flow's opening sentence counts
            said = len(re.findall(r"[。！？]", spec.get("start", ""))) if slot == "flow_q1" else 0
            before = specs.voice_sentences(before, keep=max(1, 3 - said) if said else 2)
        return [t for t in (before, q["ask"]) if t], events
    if slot == "flow_register":
        if spec.get("register_as") == "help_request":
            return [specs.render(flow, specs.common("help_ask"))], events
        return [specs.common("register_ask")], events
    if slot == "for_whom":
        return [say(domain, "utter_form_ask_for_whom")], events
    who = who_label(tracker)
    subject = "您" if who == "您本人" else who
    if slot == "applicant_name":
        return [say(domain, "utter_form_ask_name", subject=subject)], events
    if slot == "id_number":
        partial = tracker.get_slot("id_partial")
        if partial:
            missing = DigitBuffer(18, partial).missing
            return [say(domain, "utter_form_ask_digits_more", count=len(partial), missing=missing)], events
        if spec.get("id") == "optional":
            return [say(domain, "utter_form_ask_id_optional", subject=subject)], events
        return [say(domain, "utter_form_ask_id", subject=subject)], events
    if slot == "id_confirm":
        number = read_id(tracker.get_slot("id_number") or "", voice)
        return [say(domain, "utter_form_ask_number_confirm", number=number)], events
    if slot == "phone":
        partial = tracker.get_slot("phone_partial")
        if partial:
            return [say(domain, "utter_form_ask_digits_more", count=len(partial), missing=11 - len(partial))], events
        return [say(domain, "utter_form_ask_phone")], events
    if slot == "phone_confirm":
        number = read_phone(tracker.get_slot("phone") or "", voice)
        return [say(domain, "utter_form_ask_number_confirm", number=number)], events
    if slot == "village":
        if pending.startswith("place:"):
            _, village, towns = pending.split(":", 2)
            towns = towns.split("|")
            return [say(domain, "utter_form_ask_village_which_town", count=len(towns), village=village,
                        towns=say(domain, "utter_form_or").join(towns))], events
        if pending.startswith("village_of:"):
            return [say(domain, "utter_form_ask_village_of", town=pending.split(":", 1)[1])], events
        return [say(domain, "utter_form_ask_village", subject=subject)], events
    if slot == "flow_confirm":
        if pending == "fix":
            return [say(domain, "utter_form_ask_fix")], events
        return summary_texts(tracker, domain, voice), events
    raise KeyError(slot)


def summary_texts(tracker: Tracker, domain: dict, voice: bool = False) -> list[str]:
    """Masked summary for the final check: the name, the last four digits of the phone, the place.
    On voice one fact per sentence."""
    spec = specs.spec(tracker.get_slot("flow")) or {}
    matter = flow_matter(tracker) or {}
    title = spec.get("title") or matter.get("name", "")
    name = tracker.get_slot("applicant_name") or ""
    phone = tracker.get_slot("phone") or ""
    village = tracker.get_slot("village")
    facts = [say(domain, "utter_form_summary_what", who=who_label(tracker), title=title),
             say(domain, "utter_form_summary_name", name=name) if name else "",
             say(domain, "utter_form_summary_phone", tail=phone[-4:]) if phone and phone != NO_PHONE
             else (say(domain, "utter_form_summary_no_phone") if phone == NO_PHONE else ""),
             say(domain, "utter_form_summary_place", place=village) if village else ""]
    facts = [f for f in facts if f]
    if voice:   # two sentences and the question: what, who; then phone and place
        return [facts[0] + "。", "，".join(facts[1:]) + "，对吗？"]
    return ["，".join(facts) + "。对吗？"]


class _AskSlot(Action):
    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def run(self, dispatcher, tracker, domain):
        texts, events = ask_text(self.slot, tracker, domain)
        for text in texts:
            if text:
                dispatcher.utter_message(text=text)
        dispatcher.utter_message(json_message=ask_payload(self.slot, tracker))
        return events


# One ask action per form slot (rasa_sdk registers every Action subclass).
ASK_ACTIONS = {slot: type(f"ActionAsk_{slot}", (_AskSlot,), {"slot": slot}) for slot in FORM_SLOTS}
