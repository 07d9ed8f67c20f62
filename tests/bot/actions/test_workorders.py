"""Unit tests of the 12345 work-order actions: real rasa_sdk trackers, a real Redis server,
the real WorkOrderService (own key prefix per test) and the real classify()."""
from __future__ import annotations

import logging
import os
import uuid

import pytest
import yaml
from cryptography.fernet import Fernet

os.environ.setdefault("GOVDESK_SECRET_KEY", Fernet.generate_key().decode())

from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from bot.actions import workorders as wo  # noqa: E402
from common.settings import ROOT  # noqa: E402

PHONE = "13812345678"


def make_tracker(slots=None, text="", intent="provide_info", metadata=None, events=None, entities=None,
                 sender="u-wo", active_loop=None):
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or [],
              "metadata": metadata or {}}
    evs = list(events or []) + [{"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}}]
    return Tracker(sender, slots or {}, latest, evs, False, None, {"name": active_loop} if active_loop else {},
                   "action_listen")


def slot_events(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# The bot's words live in the domain: a response is read as Rasa fills it (its values from the action).
RESPONSES = {name: variants for path in sorted((ROOT / "bot" / "domain").glob("*.yml"))
             for name, variants in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).items()}


def said(message: dict) -> str:
    if message.get("response"):
        return RESPONSES[message["response"]][0]["text"].format_map(message)
    return message.get("text") or ""


def texts(dispatcher: CollectingDispatcher) -> str:
    return "".join(said(m) for m in dispatcher.messages)


async def aclose(client):
    await (client.aclose() if hasattr(client, "aclose") else client.close())


@pytest.fixture
async def svc(redis_server):
    import redis.asyncio as aioredis

    from workorders.service import WorkOrderService

    client = aioredis.from_url(redis_server.url)
    service = WorkOrderService(client, prefix=f"t{uuid.uuid4().hex[:8]}")
    wo.set_service(service)
    yield service
    wo.set_service(None)
    await aclose(client)


def intake_slots(**kw):
    base = {"wo_description": "柳树镇杨湾村的路灯坏了一个月了没人修", "wo_township": "柳树镇", "wo_village": "杨湾村",
            "wo_place": "柳树镇杨湾村", "wo_phone": PHONE, "wo_phone_confirm": "yes", "wo_kind": "report",
            "wo_class": {"category": "政务类", "type": "求助", "urgency": "一般", "emotion": "平静"},
            "wo_request_id": f"u-wo-{uuid.uuid4().hex[:6]}"}
    base.update(kw)
    return base


# --- helpers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("我要投诉", False), ("我有个情况要反映", False), ("我想提个建议", False), ("我要表扬一下", False),
    ("我要投诉镇上办事的态度不好", True), ("村里路灯坏了一个月了没人修", True), ("河边有人倒垃圾", True),
    ("表扬派出所的王警官", True),
])
def test_has_content_separates_what_happened_from_i_want_to_report(text, expected):
    assert wo.has_content(text) is expected


def test_apply_kind_trusts_the_intent_for_praise_and_suggestions():
    base = {"category": "投诉类", "type": "投诉", "urgency": "一般"}
    assert wo.apply_kind(base, "praise")["type"] == "表扬"
    assert wo.apply_kind(base, "suggest") == {"category": "意见建议类", "type": "建议", "urgency": "一般"}
    assert wo.apply_kind(base, "report") == base


# --- intake ----------------------------------------------------------------------------------
def test_start_prefills_the_description_and_the_callers_number():
    tracker = make_tracker(text="我要投诉镇上办事的态度不好", intent="complain",
                           metadata={"channel": "voice", "caller": PHONE})
    slots = slot_events(wo.ActionStartWorkorder().run(CollectingDispatcher(), tracker, {}))
    assert slots["wo_description"] == "我要投诉镇上办事的态度不好"
    assert slots["wo_kind"] == "complain"
    assert slots["wo_phone"] == PHONE
    assert slots["wo_request_id"] == "u-wo-1"


def test_praise_for_a_matter_handled_before_is_its_rating():
    tracker = make_tracker(text="喂，侬好，阿拉要表扬一记，上趟认证额事体", intent="praise")
    events = wo.ActionStartWorkorder().run(CollectingDispatcher(), tracker, {})
    assert events == [{"event": "followup", "timestamp": None, "name": "action_start_rating"}]


def test_start_without_content_leaves_the_description_to_the_form():
    tracker = make_tracker(text="我要投诉", intent="complain")
    slots = slot_events(wo.ActionStartWorkorder().run(CollectingDispatcher(), tracker, {}))
    assert slots["wo_description"] is None and slots["wo_phone"] is None


async def test_description_with_place_is_classified_and_the_place_question_skipped():
    form = wo.ValidateWorkorderForm()
    d = CollectingDispatcher()
    tracker = make_tracker({"wo_kind": "report"})
    out = await form.validate_wo_description("柳树镇杨湾村路灯坏了一个月了没人修", d, tracker, {})
    assert out["wo_township"] == "柳树镇" and out["wo_village"] == "杨湾村"
    assert out["wo_class"]["category"] and not out["wo_class"].get("refusal")
    after = make_tracker({**out, "wo_phone": None})
    assert await form.required_slots([], d, after, {}) == ["wo_description", "wo_phone", "wo_phone_confirm"]


async def test_description_without_place_asks_for_it():
    form = wo.ValidateWorkorderForm()
    out = await form.validate_wo_description("河边有人倒垃圾", CollectingDispatcher(), make_tracker({}), {})
    assert "wo_township" not in out
    slots = await form.required_slots([], CollectingDispatcher(), make_tracker(out), {})
    assert slots[:2] == ["wo_description", "wo_place"]


async def test_refused_request_ends_the_form_with_the_reason_and_no_order(svc):
    form = wo.ValidateWorkorderForm()
    out = await form.validate_wo_description("我的案子法院正在审，你们帮我催一下", CollectingDispatcher(),
                                             make_tracker({}), {})
    assert "法院" in out["wo_class"]["refusal"]
    assert await form.required_slots([], CollectingDispatcher(), make_tracker(out), {}) == []
    d = CollectingDispatcher()
    events = await wo.ActionSubmitWorkorder().run(d, make_tracker(out), {})
    assert "不能登记" in texts(d) and "法院" in texts(d)
    assert (await svc.list())["total"] == 0
    assert slot_events(events)["wo_class"] is None


async def test_emergency_in_the_description_goes_to_the_line_not_to_an_order(svc):
    form = wo.ValidateWorkorderForm()
    out = await form.validate_wo_description("我家房子着火了烧起来了", CollectingDispatcher(), make_tracker({}), {})
    assert out["wo_class"] == {"emergency": "119"}
    d = CollectingDispatcher()
    await wo.ActionSubmitWorkorder().run(d, make_tracker(out), {})
    assert d.messages[0]["response"] == "utter_emergency_fire"
    assert (await svc.list())["total"] == 0


async def test_too_short_description_is_asked_again():
    d = CollectingDispatcher()
    out = await wo.ValidateWorkorderForm().validate_wo_description("我要反映", d, make_tracker({}), {})
    assert out == {"wo_description": None} and "详细" in texts(d)


async def test_place_is_resolved_against_the_directory_and_unknown_twice_moves_on():
    form = wo.ValidateWorkorderForm()
    out = await form.validate_wo_place("杨湾村", CollectingDispatcher(), make_tracker({}), {})
    assert out["wo_township"] == "柳树镇" and out["wo_village"] == "杨湾村"
    d = CollectingDispatcher()
    first = await form.validate_wo_place("嗯那个", d, make_tracker({}), {})
    assert first["wo_place"] is None and "哪里" in texts(d)
    second = await form.validate_wo_place("嗯那个", CollectingDispatcher(), make_tracker({"wo_tries": 1}), {})
    assert second["wo_place"] == wo.UNKNOWN_PLACE


async def test_phone_is_validated_and_read_back_in_groups():
    form = wo.ValidateWorkorderForm()
    d = CollectingDispatcher()
    bad = await form.validate_wo_phone("幺三八幺二三四五六七八九", d, make_tracker({}), {})
    assert bad["wo_phone"] is None and "11位" in texts(d) and "12位" in texts(d)
    good = await form.validate_wo_phone("幺三八 幺二三四 五六七八", CollectingDispatcher(), make_tracker({}), {})
    assert good["wo_phone"] == PHONE
    d = CollectingDispatcher()
    wo.ActionAskWoPhoneConfirm().run(d, make_tracker({"wo_phone": PHONE}, metadata={"channel": "voice"}), {})
    assert "幺三八，幺二三四，五六七八" in texts(d)
    d = CollectingDispatcher()
    wo.ActionAskWoPhoneConfirm().run(d, make_tracker({"wo_phone": PHONE}, metadata={"channel": "web"}), {})
    assert "一三八，一二三四，五六七八" in texts(d)


async def test_phone_confirmation_yes_no_and_a_corrected_number():
    form = wo.ValidateWorkorderForm()
    t = make_tracker({"wo_phone": PHONE})
    assert await form.validate_wo_phone_confirm("对", CollectingDispatcher(), t, {}) == {"wo_phone_confirm": "yes"}
    no = await form.validate_wo_phone_confirm("不对", CollectingDispatcher(), make_tracker({}, intent="deny"), {})
    assert no == {"wo_phone": None, "wo_phone_confirm": None}
    new = await form.validate_wo_phone_confirm("不对，是13912345678", CollectingDispatcher(), t, {})
    assert new == {"wo_phone": "13912345678", "wo_phone_confirm": None}


async def test_the_offered_number_said_back_with_a_correction_is_a_yes():
    form = wo.ValidateWorkorderForm()
    t = make_tracker({"wo_phone": "15295981176"}, metadata={"channel": "voice", "caller": "15295981176"})
    out = await form.validate_wo_phone_confirm("幺五二，九五六八，哎不对不对，是九五九八，幺幺七六", CollectingDispatcher(), t, {})
    assert out == {"wo_phone_confirm": "yes"}


async def test_declining_the_offered_calling_number_records_no_phone_and_says_it_stays_confidential():
    form, d = wo.ValidateWorkorderForm(), CollectingDispatcher()
    t = make_tracker({"wo_phone": PHONE}, metadata={"channel": "voice", "caller": PHONE})
    out = await form.validate_wo_phone_confirm("唔留啦，我唔想俾人知系我讲嘅", d, t, {})
    assert out["wo_phone"] == wo.NO_PHONE and out["wo_phone_confirm"] is None
    assert [m.get("response") for m in d.messages] == ["utter_wo_anonymous"]


async def test_submit_creates_the_order_once_and_reads_back_the_reference(svc, caplog):
    slots = intake_slots()
    d = CollectingDispatcher()
    with caplog.at_level(logging.INFO):
        events = await wo.ActionSubmitWorkorder().run(d, make_tracker(slots, metadata={"channel": "voice"}), {})
    ref = slot_events(events)["wo_ref"]
    order = await svc.get(ref)
    assert order["channel"] == "voice" and order["place"] == {"township": "柳树镇", "village": "杨湾村"}
    assert order["client_request_id"] == slots["wo_request_id"]
    assert svc.present(order)["caller"]["phone"] == PHONE       # stored (encrypted) for the callback
    assert order["spoken_reference"].replace(" ", "") in texts(d) and "工单号" in texts(d)
    assert PHONE not in caplog.text and PHONE[-8:] not in caplog.text
    # A retry of the same submission (same client_request_id) does not make a second order.
    d2 = CollectingDispatcher()
    again = await wo.ActionSubmitWorkorder().run(d2, make_tracker(slots, metadata={"channel": "voice"}), {})
    assert slot_events(again)["wo_ref"] == ref
    assert (await svc.list())["total"] == 1


async def test_duplicate_is_created_merged_into_the_open_order_and_the_caller_told(svc):
    first = await svc.create("柳树镇杨湾村的路灯坏了一个月了没人修", place={"township": "柳树镇", "village": "杨湾村"},
                             category="政务类", type="求助", urgency="一般", caller_phone="13900001111")
    d = CollectingDispatcher()
    slots = intake_slots(wo_description="杨湾村路灯坏了一个月了，没人来修")
    events = await wo.ActionSubmitWorkorder().run(d, make_tracker(slots), {})
    assert "已经有人反映过了" in texts(d) and "合并" in texts(d)
    mine = await svc.get(slot_events(events)["wo_ref"])
    assert mine["state"] == "merged" and mine["merged_into"] == first["id"]
    assert mine["id"] in (await svc.get(first["id"]))["merged_orders"]


async def test_praise_is_thanked_and_stored_as_praise(svc):
    slots = intake_slots(wo_description="表扬派出所的王警官帮我找回了钱包", wo_kind="praise",
                         wo_class=wo.apply_kind({"category": "投诉类", "type": "投诉", "urgency": "一般"}, "praise"))
    d = CollectingDispatcher()
    events = await wo.ActionSubmitWorkorder().run(d, make_tracker(slots, metadata={"channel": "wechat"}), {})
    order = await svc.get(slot_events(events)["wo_ref"])
    assert order["type"] == "表扬" and order["channel"] == "wechat"
    assert "表扬" in texts(d) and order["id"] in texts(d)


async def test_redis_failure_hands_off_instead_of_crashing():
    import redis.asyncio as aioredis

    from workorders.service import WorkOrderService

    dead = aioredis.from_url("redis://localhost:1/0")
    wo.set_service(WorkOrderService(dead, prefix="dead"))
    try:
        d = CollectingDispatcher()
        events = await wo.ActionSubmitWorkorder().run(d, make_tracker(intake_slots()), {})
    finally:
        wo.set_service(None)
        await aclose(dead)
    assert {"event": "handoff", "reason": "workorder_failed"} in [m.get("custom") for m in d.messages]
    assert slot_events(events)["handoff"] is True


# --- progress --------------------------------------------------------------------------------
async def make_order(svc, text="柳树镇杨湾村路灯坏了", phone=PHONE):
    return await svc.create(text, caller_phone=phone, place={"township": "柳树镇", "village": "杨湾村"},
                            category="政务类", type="求助", urgency="一般")


async def complete(svc, order_id):
    await svc.transition(order_id, "dispatch", None, unit_id="C01T03")
    for action in ("sign", "start"):
        await svc.transition(order_id, action, None)
    await svc.transition(order_id, "reply", None, reply="路灯已经修好了。")
    return await svc.transition(order_id, "complete", None)


def test_progress_start_verifies_the_caller_by_the_caller_id_without_questions():
    t = make_tracker(metadata={"channel": "voice", "caller": PHONE}, intent="query_progress")
    d = CollectingDispatcher()
    slots = slot_events(wo.ActionStartProgress().run(d, t, {}))
    assert slots["wo_query_phone"] == PHONE and slots["wo_last4"] == "5678" and slots["wo_verified_phone"] == PHONE
    assert d.messages == []


async def test_progress_without_a_caller_id_goes_to_a_person(svc):
    await make_order(svc)
    d = CollectingDispatcher()
    t = make_tracker(metadata={"channel": "web"}, intent="query_progress")
    slots = slot_events(wo.ActionStartProgress().run(d, t, {}))
    assert [m.get("response") for m in d.messages] == ["utter_wo_verify_own_phone_only"]
    assert slots["wo_last4"] == wo.VERIFY_FAILED
    d = CollectingDispatcher()
    events = await wo.ActionWorkorderProgress().run(d, make_tracker(slots), {})
    assert {"event": "handoff", "reason": "verification_failed"} in [m.get("custom") for m in d.messages]
    assert "路灯" not in texts(d) and slot_events(events)["handoff"] is True


async def test_a_number_that_is_not_the_callers_is_not_enough(svc):
    await make_order(svc)
    d = CollectingDispatcher()
    out = await wo.ValidateWoProgressForm().validate_wo_query_phone(
        "138 1234 5678", d, make_tracker({}, metadata={"channel": "voice", "caller": "13900001111"}), {})
    assert out["wo_last4"] == wo.VERIFY_FAILED and out["wo_query_phone"] == wo.NO_PHONE
    assert [m.get("response") for m in d.messages] == ["utter_wo_verify_own_phone_only"]


async def test_progress_in_plain_words_after_verification(svc):
    order = await make_order(svc)
    d = CollectingDispatcher()
    events = await wo.ActionWorkorderProgress().run(d, make_tracker({"wo_query_phone": PHONE, "wo_last4": "5678"}), {})
    reply = texts(d)
    month, day = int(order["created_at"][5:7]), int(order["created_at"][8:10])
    assert f"您{month}月{day}号反映的" in reply and "路灯" in reply and "预计" in reply
    assert PHONE not in reply
    assert not any(e.get("event") == "followup" for e in events)


async def test_progress_of_a_completed_order_asks_for_a_rating(svc):
    order = await make_order(svc)
    await complete(svc, order["id"])
    d = CollectingDispatcher()
    events = await wo.ActionWorkorderProgress().run(d, make_tracker({"wo_query_phone": PHONE, "wo_last4": "5678"}), {})
    assert "办完" in texts(d)
    assert slot_events(events)["wo_rate_order"] == order["id"]
    assert {"event": "followup", "name": "wo_rating_form", "timestamp": None} in events


# --- rating ----------------------------------------------------------------------------------
@pytest.mark.parametrize("said,level", [("非常满意", "非常满意"), ("4", "不满意"), ("五", "非常不满意"),
                                        ("还行吧", "基本满意")])
async def test_rating_words_and_keypad(said, level):
    out = await wo.ValidateWoRatingForm().validate_wo_rating(said, CollectingDispatcher(), make_tracker({}), {})
    assert out == {"wo_rating": level}


async def test_rating_not_understood_is_asked_again():
    d = CollectingDispatcher()
    out = await wo.ValidateWoRatingForm().validate_wo_rating("啊？", d, make_tracker({}), {})
    assert out == {"wo_rating": None} and "满意" in texts(d)


async def test_asking_what_the_levels_are_is_not_a_miss():
    d = CollectingDispatcher()
    out = await wo.ValidateWoRatingForm().validate_wo_rating("评几颗星啊？有哪几种？", d, make_tracker({}), {})
    assert out == {"wo_rating": None} and not d.messages   # the question that follows names all five


async def test_rating_form_finds_the_latest_completed_unrated_order(svc):
    old = await make_order(svc, "柳树镇杨湾村的水渠堵了")
    await complete(svc, old["id"])
    await svc.rate(old["id"], "满意", channel="voice")
    new = await make_order(svc)
    await complete(svc, new["id"])
    t = make_tracker(metadata={"channel": "voice", "caller": PHONE}, intent="rate_service")
    started = slot_events(await wo.ActionStartRating().run(CollectingDispatcher(), t, {}))   # caller id
    assert started["wo_rate_order"] == new["id"]
    form = wo.ValidateWoRatingForm()
    assert await form.required_slots([], CollectingDispatcher(), make_tracker(started), {}) == ["wo_rating"]


async def test_order_reference_in_the_rating_message_is_used():
    t = make_tracker({"wo_rating": "满意"}, text="给12345202603020001打个满意", intent="rate_service")
    slots = slot_events(await wo.ActionStartRating().run(CollectingDispatcher(), t, {}))
    assert slots["wo_rate_order"] == "12345202603020001" and slots["wo_rating"] == "满意"


async def test_calling_again_later_to_a_pending_offer_declines_it_and_rates_nothing():
    t = make_tracker({"matter_offer": "register", "matter": "minzheng.elderly_allowance"},
                     text="哦，还没到啊，那我到辰光再打", intent="rate_service")
    d = CollectingDispatcher()
    events = await wo.ActionStartRating().run(d, t, {})
    assert {"event": "flow_end", "outcome": "declined"} in [m.get("custom") for m in d.messages]
    assert slot_events(events) == {"matter_offer": None}


async def test_bad_rating_opens_rectification_and_promises_a_call(svc):
    order = await make_order(svc)
    await complete(svc, order["id"])
    d = CollectingDispatcher()
    await wo.ActionSubmitRating().run(
        d, make_tracker({"wo_rate_order": order["id"], "wo_rating": "不满意", "wo_verified_phone": PHONE},
                        metadata={"channel": "voice"}), {})
    assert "重新办理" in texts(d) and "打电话" in texts(d)
    after = await svc.get(order["id"])
    assert after["rating"] == "不满意" and after["state"] == "in_progress"
    assert after["ratings"][-1]["channel"] == "voice"
    queue = await svc.store.supervision_queue()
    assert any(e["order_id"] == order["id"] and e["kind"] == "rectification" for e in queue)


async def test_good_rating_is_thanked_without_rectification(svc):
    order = await make_order(svc)
    await complete(svc, order["id"])
    d = CollectingDispatcher()
    await wo.ActionSubmitRating().run(d, make_tracker({"wo_rate_order": order["id"], "wo_rating": "1", "wo_verified_phone": PHONE}), {})
    assert "谢谢" in texts(d)
    after = await svc.get(order["id"])
    assert after["rating"] == "非常满意" and after["state"] == "completed"
    assert not await svc.store.supervision_queue()


async def test_rating_without_caller_id_does_not_find_the_order_from_a_typed_number(svc):
    order = await make_order(svc)
    await complete(svc, order["id"])
    form = wo.ValidateWoRatingForm()
    out = await form.validate_wo_query_phone("138 1234 5678", CollectingDispatcher(), make_tracker({}), {})
    assert out["wo_last4"] == wo.VERIFY_FAILED and "wo_rate_order" not in out


async def test_an_order_of_another_phone_cannot_be_rated(svc):
    order = await make_order(svc)
    await complete(svc, order["id"])
    d = CollectingDispatcher()
    await wo.ActionSubmitRating().run(
        d, make_tracker({"wo_rate_order": order["id"], "wo_rating": "非常不满意", "wo_verified_phone": "13900001111"}), {})
    assert "utter_wo_rating_not_yours" in [m.get("response") for m in d.messages]
    assert {"event": "handoff", "reason": "verification_failed"} in [m.get("custom") for m in d.messages]
    after = await svc.get(order["id"])
    assert not after.get("rating") and after["state"] == "completed"


async def test_unclear_query_number_twice_goes_to_a_person(svc):
    form = wo.ValidateWoProgressForm()
    d = CollectingDispatcher()
    first = await form.validate_wo_query_phone("幺三八幺二三四五六七八九", d, make_tracker({}), {})
    assert first == {"wo_query_phone": None, "wo_verify_fails": 1, "wo_digits": None}
    second = await form.validate_wo_query_phone("什么号码", d, make_tracker({"wo_verify_fails": 1}), {})
    assert second["wo_last4"] == wo.VERIFY_FAILED
    d = CollectingDispatcher()
    await wo.ActionWorkorderProgress().run(d, make_tracker(second), {})
    assert {"event": "handoff", "reason": "verification_failed"} in [m.get("custom") for m in d.messages]


async def test_a_phone_said_in_pieces_is_put_together():
    form = wo.ValidateWorkorderForm()
    first = await form.validate_wo_phone("幺三八幺二", CollectingDispatcher(), make_tracker({}), {})
    assert first == {"wo_phone": None, "wo_digits": "13812"}
    d = CollectingDispatcher()
    wo.ActionAskWoPhone().run(d, make_tracker(first), {})
    assert d.messages[0]["response"] == "utter_wo_digits_more" and d.messages[0]["missing"] == 6
    second = await form.validate_wo_phone("三四五六七八", CollectingDispatcher(), make_tracker(first), {})
    assert second["wo_phone"] == PHONE


# --- one-time codes (chat users without a caller id) --------------------------------------------
@pytest.fixture
def sms():
    """The SMS gateway (an outside service) as the fake of its wire format; the real client."""
    from bench.fake_sms import FakeSmsGateway
    from clients.sms import SmsClient

    gateway = FakeSmsGateway().start()
    wo._SMS = SmsClient(gateway.url, gateway.token)
    yield gateway
    wo._SMS = None
    gateway.stop()


def _domain() -> dict:
    import yaml
    from pathlib import Path

    return yaml.safe_load((Path(wo.__file__).resolve().parents[1] / "domain" / "workorders.yml").read_text("utf-8"))


async def test_chat_user_gets_a_code_by_sms_and_says_it_back(svc, sms):
    await make_order(svc)
    d = CollectingDispatcher()
    slots = slot_events(wo.ActionStartProgress().run(d, make_tracker(metadata={"channel": "web"}), {}))
    assert d.messages == [] and slots["wo_last4"] is None          # the form asks for the number
    form = wo.ValidateWoProgressForm()
    out = await form.validate_wo_query_phone("138 1234 5678", d, make_tracker({}, metadata={"channel": "web"}), _domain())
    assert out["wo_query_phone"] == PHONE and "wo_last4" not in out
    assert [m.get("response") for m in d.messages] == ["utter_wo_code_sent"]
    code = sms.last_code(PHONE)
    assert code and sms.messages(PHONE)[-1]["purpose"] == "otp" and "验证码" in sms.messages(PHONE)[-1]["text"]
    t = make_tracker({"wo_query_phone": PHONE}, metadata={"channel": "web"})
    assert await form.required_slots([], CollectingDispatcher(), t, {}) == ["wo_query_phone", "wo_code"]
    out = await form.validate_wo_code(" ".join(code), CollectingDispatcher(), t, {})
    assert out["wo_verified_phone"] == PHONE and out["wo_last4"] == "5678"
    assert await form.required_slots([], CollectingDispatcher(), make_tracker(out), {}) == []
    # a code works once
    again = await form.validate_wo_code(code, CollectingDispatcher(), t, {})
    assert again.get("wo_verified_phone") is None


async def test_wrong_codes_twice_then_a_person(svc, sms):
    form = wo.ValidateWoProgressForm()
    await form.validate_wo_query_phone(PHONE, CollectingDispatcher(), make_tracker({}), _domain())
    code = sms.last_code(PHONE)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    d = CollectingDispatcher()
    out = await form.validate_wo_code(wrong, d, make_tracker({"wo_query_phone": PHONE}), {})
    assert out == {"wo_code": None, "wo_verify_fails": 1} and d.messages[0]["response"] == "utter_wo_code_wrong"
    out = await form.validate_wo_code(code, d, make_tracker({"wo_query_phone": PHONE, "wo_verify_fails": 1}), {})
    assert out["wo_verified_phone"] == PHONE   # the right code on the second try


async def test_a_second_code_within_a_minute_is_refused_and_handed_to_a_person(svc, sms):
    form = wo.ValidateWoProgressForm()
    await form.validate_wo_query_phone(PHONE, CollectingDispatcher(), make_tracker({}), _domain())
    d = CollectingDispatcher()
    out = await form.validate_wo_query_phone(PHONE, d, make_tracker({}), _domain())
    assert out["wo_last4"] == wo.VERIFY_FAILED and d.messages[0]["response"] == "utter_wo_code_not_sent"
    assert len(sms.messages(PHONE)) == 1


async def test_rating_with_a_code_finds_the_callers_completed_order(svc, sms):
    order = await make_order(svc)
    await complete(svc, order["id"])
    form = wo.ValidateWoRatingForm()
    await form.validate_wo_query_phone(PHONE, CollectingDispatcher(), make_tracker({}), _domain())
    out = await form.validate_wo_code(sms.last_code(PHONE), CollectingDispatcher(),
                                      make_tracker({"wo_query_phone": PHONE}), {})
    assert out["wo_rate_order"] == order["id"]


@pytest.mark.parametrize("slot, text, taken", [
    ("wo_place", "马家集乡马家集村，就集上十字路口那家", True),
    ("wo_phone", "13707358192，这是我儿子给我设置的微信，电话也是这个", True),
    ("wo_phone_confirm", "打我儿子的嘛，我这个老人机经常没得信号，幺八拐八五，洞三两，九四六", True),
    ("wo_place", "有人拿刀在砍人", False),
])
def test_an_answer_read_as_maybe_an_emergency_is_still_the_answer(slot, text, taken):
    t = make_tracker({"requested_slot": slot}, text, intent="emergency_check", active_loop="workorder_form")
    assert wo.held_back_answer(t) == ((slot, text) if taken else None)


async def test_progress_that_finds_nothing_offers_a_person_and_a_no_ends_told_what_to_do(svc):
    from bot.actions.catalogue import ActionTakeOffer
    from bot.actions.core import ActionDecline

    d = CollectingDispatcher()
    events = await wo.ActionWorkorderProgress().run(d, make_tracker({"wo_query_phone": PHONE, "wo_last4": "5678"}), {})
    assert [m.get("response") for m in d.messages if m.get("response")] == [
        "utter_wo_progress_none", "utter_wo_progress_offer_human"]
    assert d.messages[-1]["custom"]["key"] == "human_offer"
    assert slot_events(events)["matter_offer"] == "human"
    d = CollectingDispatcher()
    taken = ActionTakeOffer().run(d, make_tracker({"matter_offer": "human"}, text="要", intent="affirm"), {})
    assert {"event": "handoff", "reason": "progress_not_found"} in [m.get("custom") for m in d.messages]
    assert slot_events(taken)["matter_offer"] is None
    d = CollectingDispatcher()
    declined = ActionDecline().run(d, make_tracker({"matter_offer": "human"}, text="不用", intent="deny"), {})
    assert {"event": "flow_end", "outcome": "declined"} in [m.get("custom") for m in d.messages]
    assert "utter_anything_else" in [m.get("response") for m in d.messages]
    assert slot_events(declined)["matter_offer"] is None


MATTER = [{"entity": "matter", "value": "jiaotong.road_damage_report", "extractor": "CatalogueMatterClassifier"}]


async def test_intake_links_the_matter_the_nlu_named_when_the_catalogue_words_alone_find_none():
    text = "我们村那条路遭水冲垮了一截，好大个坑"
    form = wo.ValidateWorkorderForm()
    out = await form.validate_wo_description(text, CollectingDispatcher(),
                                             make_tracker({"wo_kind": "report"}, text=text, entities=MATTER), {})
    assert out["wo_class"]["matter_id"] == "jiaotong.road_damage_report"
    unsure = MATTER + [{"entity": "matter_alt", "value": "shuili.river_report"}]
    out = await form.validate_wo_description(text, CollectingDispatcher(),
                                             make_tracker({"wo_kind": "report"}, text=text, entities=unsure), {})
    assert not out["wo_class"].get("matter_id")   # "A or B?" was not settled: staff read the words
