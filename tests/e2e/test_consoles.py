"""The consoles in headless Chromium against the real staff API: a clerk registers a lost-ID
request for an 80-year-old, a dispatcher routes it, the 派出所 handler signs, handles and replies, the
dispatcher confirms 办结; a supervisor sees an overdue order; analytics shows the API's KPI numbers;
menus follow roles; no horizontal overflow at 1366x768 and on tablets; large-font mode."""
from __future__ import annotations

import asyncio
import re
import threading
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import horizontal_overflow, login, shot

pytestmark = pytest.mark.browser

ELDER_BAD_ID = "110105194503150021"   # last digit wrong (the check digit is 9)
ELDER_ID = "110105194503150029"       # valid, born 1945-03-15 (80+)
POLICE_UNIT = "C01T01-gongan"         # 松溪县公安局城关派出所 (demo account "police")
FLOW: dict = {}


def find_in_queue(page, testid: str, order_id: str):
    """The dispatch queue shows a page at a time, 特急 first: find an order as a dispatcher does."""
    page.get_by_test_id("queue-search").fill(order_id)
    return page.locator(f'[data-testid="{testid}"][data-order="{order_id}"]')


def flow_order() -> str:
    if "order_id" not in FLOW:
        pytest.skip("needs the order registered by test_clerk_registers_lost_id_for_elderly_resident")
    return FLOW["order_id"]


def test_clerk_registers_lost_id_for_elderly_resident(open_page, target):
    page = open_page("desktop")
    login(page, "clerk")
    expect(page.get_by_test_id("menu-frontdesk")).to_be_visible()
    expect(page.get_by_test_id("menu-dispatch")).to_have_count(0)

    page.get_by_test_id("matter-search").fill("我身份证丢了要补办")
    page.get_by_test_id("matter-search-go").click()
    hit = page.locator('[data-testid="matter-hit"][data-matter="gongan.idcard_reissue"]')
    expect(hit).to_be_visible()
    shot(page, "frontdesk-search")
    hit.click()

    matter = target.call("GET", "/api/catalogue/matters/gongan.idcard_reissue")
    # step 1: facts straight from the catalogue matter JSON
    expect(page.get_by_test_id("step-1")).to_contain_text(matter["where"]["text"])
    page.get_by_test_id("next-step").click()
    expect(page.get_by_test_id("fact-elderly")).to_contain_text(matter["elderly"]["text"])
    page.get_by_test_id("next-step").click()
    boxes = page.get_by_test_id("material")
    expect(boxes).to_have_count(len(matter["materials"]["items"]))
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_test_id("next-step").click()
    expect(page.get_by_test_id("fact-fee")).to_contain_text(matter["fee"]["text"])
    expect(page.get_by_test_id("fact-time-limit")).to_contain_text(matter["time_limit"]["text"])
    shot(page, "frontdesk-script-fees")
    page.get_by_test_id("next-step").click()

    page.get_by_test_id("f-name").fill("王秀兰")
    page.get_by_test_id("f-phone").fill("1380000")
    page.get_by_test_id("f-phone").blur()
    expect(page.locator("#" + page.get_by_test_id("f-phone").get_attribute("id") + "-hint")).to_contain_text("11位")
    page.get_by_test_id("f-phone").fill("13800002222")
    page.get_by_test_id("f-id").fill(ELDER_BAD_ID)
    id_hint = page.locator("#" + page.get_by_test_id("f-id").get_attribute("id") + "-hint")
    expect(id_hint).to_contain_text("最后一位校验不对")
    expect(page.get_by_test_id("f-id")).to_have_attribute("aria-invalid", "true")
    page.get_by_test_id("f-township").select_option(label="松溪县 城关镇")
    page.get_by_test_id("f-village").select_option("东街社区")
    page.get_by_test_id("f-notes").fill("老人行动不便，希望民警上门采集")
    page.get_by_test_id("submit-order").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("身份证号")
    expect(page.get_by_test_id("receipt")).to_have_count(0)   # nothing sent with a bad ID
    shot(page, "frontdesk-invalid-id")

    page.get_by_test_id("f-id").fill(ELDER_ID)
    expect(id_hint).to_contain_text("校验通过")
    expect(id_hint).to_contain_text("老年人")
    page.get_by_test_id("submit-order").click()
    receipt = page.get_by_test_id("receipt")
    expect(receipt).to_be_visible()
    order_id = page.get_by_test_id("receipt-order-id").inner_text().strip()
    assert re.fullmatch(r"\d{17}", order_id), order_id
    expect(receipt).to_contain_text(matter["fee"]["text"])
    assert page.evaluate("() => typeof window.print") == "function"
    shot(page, "frontdesk-receipt")
    page.emulate_media(media="print")
    shot(page, "frontdesk-receipt-print")
    page.emulate_media(media="screen")

    order = target.call("GET", f"/api/orders/{order_id}", user="dispatcher")
    assert order["channel"] == "frontdesk" and order["matter_id"] == "gongan.idcard_reissue"
    assert order["state"] == "accepted" and order["place"]["township"] == "城关镇"
    assert order["client_request_id"].startswith("frontdesk-")
    assert order["caller"]["id_number"] != ELDER_ID   # masked for the dispatcher
    assert (order.get("suggestion") or {}).get("lead_unit_id") == POLICE_UNIT
    assert not page.errors, page.errors
    FLOW["order_id"] = order_id


def test_dispatcher_routes_it_to_the_suggested_unit(open_page, target):
    order_id = flow_order()
    page = open_page("desktop")
    login(page, "dispatcher")
    expect(page.get_by_test_id("menu-dispatch")).to_be_visible()
    page.get_by_test_id("menu-dispatch").click()
    card = find_in_queue(page, "incoming-order", order_id)
    expect(card).to_be_visible()
    expect(card.get_by_test_id("suggested-unit")).to_have_text("松溪县公安局城关派出所")
    expect(card.get_by_test_id("caller")).not_to_contain_text(ELDER_ID)
    shot(page, "dispatch-incoming")
    card.get_by_test_id("dispatch-suggested").click()
    expect(page.get_by_test_id("confirm-text")).to_contain_text("松溪县公安局城关派出所")
    page.get_by_test_id("confirm-ok").click()
    expect(card).to_have_count(0)
    order = target.call("GET", f"/api/orders/{order_id}", user="dispatcher")
    assert order["state"] == "dispatched" and order["lead_unit_id"] == POLICE_UNIT
    assert not page.errors, page.errors


def test_unit_handler_signs_handles_and_replies_then_dispatcher_completes(open_page, target):
    order_id = flow_order()
    page = open_page("tablet-landscape")
    login(page, "police")
    expect(page.get_by_test_id("menu-inbox")).to_be_visible()
    expect(page.get_by_test_id("menu-dispatch")).to_have_count(0)
    expect(page.get_by_test_id("menu-frontdesk")).to_have_count(0)
    card = page.locator(f'[data-testid="unit-order"][data-order="{order_id}"]')
    expect(card).to_have_attribute("data-state", "dispatched")
    shot(page, "inbox-dispatched")
    card.get_by_test_id("sign").click()
    expect(card).to_have_attribute("data-state", "signed")
    card.get_by_test_id("start").click()
    expect(card).to_have_attribute("data-state", "in_progress")
    card.get_by_test_id("reply").click()
    page.get_by_test_id("dialog-input").fill("已受理补领，民警将上门为老人照相采集指纹，新证办好后邮寄。")
    page.get_by_test_id("dialog-ok").click()
    expect(card).to_have_attribute("data-state", "replied")
    shot(page, "inbox-replied")
    # the handler of another unit does not see it (the API filters, the UI shows what it gets)
    other = open_page("tablet-portrait")
    login(other, "centre")
    expect(other.get_by_test_id("unit-inbox")).to_be_visible()
    expect(other.locator(f'[data-order="{order_id}"]')).to_have_count(0)

    disp = open_page("desktop")
    login(disp, "dispatcher")
    disp.get_by_test_id("menu-dispatch").click()
    done = find_in_queue(disp, "replied-order", order_id)
    expect(done).to_be_visible()
    done.get_by_test_id("complete").click()
    disp.get_by_test_id("confirm-ok").click()
    expect(done).to_have_count(0)
    order = target.call("GET", f"/api/orders/{order_id}", user="supervisor")
    assert order["state"] == "completed" and order["reply"].startswith("已受理补领")
    events = [e["action"] for e in target.call("GET", f"/api/orders/{order_id}/events", user="supervisor")["events"]]
    assert events == ["create", "dispatch", "sign", "start", "reply", "complete"]
    assert not (page.errors or disp.errors), page.errors + disp.errors


def test_unit_handler_returns_with_reason_and_dispatcher_redispatches(open_page, target):
    created = target.call("POST", "/api/orders", {
        "text": "居民身份证补领：老人身份证找不到了", "matter_id": "gongan.idcard_reissue", "channel": "frontdesk",
        "place": {"county": "松溪县", "township": "城关镇", "village": "西街社区"},
        "client_request_id": f"e2e-{uuid.uuid4().hex}"}, user="clerk")
    oid = created["id"]
    target.call("POST", f"/api/orders/{oid}/actions/dispatch", {"unit_id": "C01T01-zhengwu"}, user="dispatcher")
    page = open_page("desktop")
    login(page, "centre")
    card = page.locator(f'[data-testid="unit-order"][data-order="{oid}"]')
    card.get_by_test_id("return").click()
    page.get_by_test_id("dialog-input").fill("身份证补领由派出所办理，请改派城关派出所")
    page.get_by_test_id("dialog-ok").click()
    expect(card).to_have_count(0)

    disp = open_page("desktop")
    login(disp, "dispatcher")
    disp.get_by_test_id("menu-dispatch").click()
    back = find_in_queue(disp, "incoming-order", oid)
    expect(back.get_by_test_id("return-reason")).to_contain_text("请改派城关派出所")
    back.locator("summary", has_text="改派").click()
    back.get_by_test_id("unit-filter").fill("城关 派出所")
    back.get_by_test_id("unit-select").select_option(POLICE_UNIT)
    expect(back.get_by_test_id("unit-select")).to_have_value(POLICE_UNIT)
    shot(disp, "dispatch-returned-redispatch", full_page=False)
    back.get_by_test_id("dispatch-chosen").click()
    disp.get_by_test_id("confirm-ok").click()
    # The outcome, not the 4-second toast: the order leaves the incoming list.
    expect(back).to_have_count(0)
    assert target.call("GET", f"/api/orders/{oid}", user="dispatcher")["lead_unit_id"] == POLICE_UNIT


def test_dispatcher_merges_a_duplicate(open_page, target):
    place = {"county": "松溪县", "township": "柳树镇", "village": "杨湾村"}
    tag = uuid.uuid4().hex[:6]
    first = target.call("POST", "/api/orders", {"text": f"杨湾村{tag}号路灯坏了一个星期，晚上很黑", "place": place,
                                                "channel": "hotline", "client_request_id": f"e2e-{tag}-1"}, user="clerk")
    dup = target.call("POST", "/api/orders", {"text": f"杨湾村{tag}号路灯坏了，晚上很黑没人修", "place": place,
                                              "channel": "hotline", "client_request_id": f"e2e-{tag}-2"}, user="clerk")
    assert dup.get("possible_duplicate_of") == first["id"]
    page = open_page("tablet-landscape")
    login(page, "dispatcher")
    page.get_by_test_id("menu-dispatch").click()
    card = find_in_queue(page, "incoming-order", dup["id"])
    expect(card).to_contain_text(f"疑似重复：与 {first['id']}")
    expect(card.get_by_test_id("merge-master")).to_have_value(first["id"])
    card.get_by_test_id("merge").click()
    page.get_by_test_id("confirm-ok").click()
    expect(card).to_have_count(0)
    assert target.call("GET", f"/api/orders/{dup['id']}", user="dispatcher")["state"] == "merged"
    assert dup["id"] in target.call("GET", f"/api/orders/{first['id']}", user="dispatcher")["merged_orders"]


def test_dispatcher_sees_why_the_classifier_decided(open_page, target):
    tag = uuid.uuid4().hex[:6]
    order = target.call("POST", "/api/orders", {
        "text": f"枫林村{tag}组停水三天了，全组几十户都没水吃", "channel": "hotline",
        "place": {"county": "松溪县", "township": "青龙乡", "village": "枫林村"},
        "client_request_id": f"e2e-{tag}-why"}, user="clerk")
    reasons = order["classification_reasons"]
    assert order["urgency"] == "紧急" and reasons["urgency"] and reasons["type"]
    page = open_page("desktop")
    login(page, "dispatcher")
    page.get_by_test_id("menu-dispatch").click()
    card = find_in_queue(page, "incoming-order", order["id"])
    why = card.get_by_test_id("classification-reasons")
    why.locator("summary").click()
    expect(why).to_contain_text(f"紧急程度：{reasons['urgency']}")
    expect(why).to_contain_text(f"类型：{reasons['type']}")
    assert not page.errors, page.errors


def test_extension_request_and_approval(open_page, target):
    created = target.call("POST", "/api/orders", {
        "text": "城关镇东街社区居民咨询身份证异地补领需要多久", "matter_id": "gongan.idcard_reissue", "channel": "frontdesk",
        "place": {"county": "松溪县", "township": "城关镇", "village": "东街社区"},
        "client_request_id": f"e2e-{uuid.uuid4().hex}"}, user="clerk")
    oid = created["id"]
    target.call("POST", f"/api/orders/{oid}/actions/dispatch", {"unit_id": POLICE_UNIT}, user="dispatcher")
    page = open_page("tablet-portrait")
    login(page, "police")
    card = page.locator(f'[data-testid="unit-order"][data-order="{oid}"]')
    card.get_by_test_id("request-extension").click()
    page.get_by_test_id("dialog-input").fill("需要向户籍地派出所核实户籍信息")
    page.get_by_test_id("dialog-ok").click()
    expect(card.get_by_test_id("extension")).to_contain_text("审批中")
    sup = open_page("desktop")
    login(sup, "supervisor")
    sup.get_by_test_id("menu-supervision").click()
    ext = sup.locator(f'[data-testid="extension-order"][data-order="{oid}"]')
    expect(ext).to_contain_text("需要向户籍地派出所核实户籍信息")
    ext.get_by_test_id("approve-extension").click()
    expect(ext).to_have_count(0)
    order = target.call("GET", f"/api/orders/{oid}", user="supervisor")
    assert order["extension_request"]["status"] == "approved" and order["extensions_used"] == 1


def _backdated_overdue_order(target) -> str:
    """Create an order through WorkOrderService (the one write path) with a clock 40 days back, so
    its deadline is past, then run one scheduler pass (as `python -m workorders.scheduler --once`)."""
    from workorders import scheduler
    from workorders.calendar import now as real_now
    from workorders.service import WorkOrderService

    out = {}

    async def go():
        svc = WorkOrderService.from_url(target.redis_url, clock=lambda: real_now() - timedelta(days=40))
        try:
            order = await svc.create("大坪村水渠堵了一个多月没人管，田里灌不上水", channel="hotline",
                                     category="政务类", type="求助", urgency="一般",
                                     place={"county": "松溪县", "township": "大坪乡", "village": "大坪村"},
                                     client_request_id=f"e2e-overdue-{uuid.uuid4().hex}")
            await svc.transition(order["id"], "dispatch", {"username": "e2e", "role": "dispatcher"},
                                 unit_id="C01T02-shuili")
            svc.clock = real_now
            out["stats"] = await scheduler.run_once(svc)
            out["id"] = order["id"]
        finally:
            await svc.redis.close()

    t = threading.Thread(target=lambda: asyncio.run(go()))  # own loop, away from Playwright's
    t.start()
    t.join(60)
    return out["id"]


def test_supervisor_sees_overdue_order_and_supervises(open_page, target):
    oid = _backdated_overdue_order(target)
    assert target.call("GET", f"/api/orders/{oid}", user="supervisor")["overdue"] is True
    page = open_page("desktop")
    login(page, "supervisor")
    expect(page.get_by_test_id("menu-supervision")).to_be_visible()
    expect(page.get_by_test_id("menu-frontdesk")).to_have_count(0)
    page.get_by_test_id("menu-supervision").click()
    card = page.locator(f'[data-testid="overdue-order"][data-order="{oid}"]')
    expect(card).to_be_visible()
    expect(card.get_by_test_id("overdue")).to_have_text("已超期")
    expect(page.locator(f'[data-testid="queue-item"][data-order="{oid}"]').first).to_contain_text("督办")
    card.get_by_test_id("supervise").click()
    page.get_by_test_id("dialog-input").fill("请水利站今天内派人疏通水渠并回复")
    page.get_by_test_id("dialog-ok").click()
    expect(page.locator(f'[data-testid="overdue-order"][data-order="{oid}"]')).to_contain_text("请水利站今天内派人疏通")
    shot(page, "supervision")
    order = target.call("GET", f"/api/orders/{oid}", user="supervisor")
    assert [s["by"] for s in order["supervision"]][-1] == "supervisor"
    # the completed front-desk order waits for its callback
    if FLOW.get("order_id"):
        cb = page.locator(f'[data-testid="callback-order"][data-order="{FLOW["order_id"]}"]')
        expect(cb).to_be_visible()
        cb.get_by_test_id("callback-yes").click()
        expect(page.locator(f'[data-testid="callback-order"][data-order="{FLOW["order_id"]}"] [data-testid="archive"]')).to_be_visible()
    assert not page.errors, page.errors


def test_analytics_shows_the_api_kpi_numbers(open_page, target):
    page = open_page("desktop")
    login(page, "supervisor")
    page.get_by_test_id("menu-analytics").click()
    expect(page.get_by_test_id("kpi-table")).to_be_visible()
    kpi = target.call("GET", "/api/kpi?group_by=unit", user="supervisor")
    rows = page.get_by_test_id("kpi-row")
    expect(rows).to_have_count(len(kpi["rows"]))
    for row in kpi["rows"]:
        tr = page.locator(f'[data-testid="kpi-row"][data-key="{row["key"]}"]')
        for name in ("dispatched", "signed", "replied", "completed"):
            expect(tr.locator(f'[data-count="{name}"]')).to_have_text(str(row["counts"][name]))
        rate = row["completion_rate"]
        expect(tr.locator('[data-rate="completion_rate"]')).to_have_text("—" if rate is None else f"{rate * 100:.1f}%")
    total = sum(r["counts"]["dispatched"] for r in kpi["rows"])
    expect(page.get_by_test_id("tile-dispatched")).to_contain_text(str(total))
    police = page.locator(f'[data-testid="kpi-row"][data-key="{POLICE_UNIT}"]')
    expect(police.locator("th")).to_have_text("松溪县公安局城关派出所")
    expect(page.locator('[data-testid="hotspots"] svg.chart').first).to_be_visible()
    expect(page.get_by_test_id("hot-table-category")).to_be_visible()
    hot = target.call("GET", "/api/hotspots?weeks=8", user="supervisor")
    if hot["rising"]:   # rising trends are flagged, in the list and in the tables
        expect(page.get_by_test_id("rising").locator("li")).to_have_count(len(hot["rising"]))
    for row in hot["by"]["category"]:
        cells = page.get_by_test_id("hot-table-category").locator(f'tr:has(th[data-key="{row["key"]}"]) td')
        expect(cells.nth(0)).to_have_text(str(row["total"]))
        expect(cells.nth(3)).to_have_text("上升" if row["rising"] else "平稳")
    with page.expect_download() as dl:
        page.get_by_test_id("export-csv").click()
    path = dl.value.path()
    text = open(path, encoding="utf-8-sig").read()
    assert text.splitlines()[0].startswith("维度,名称,")
    shot(page, "analytics")
    # a unit handler sees only their own unit's KPIs and no hot spots
    unit = open_page("tablet-landscape")
    login(unit, "police")
    unit.get_by_test_id("menu-analytics").click()
    expect(unit.get_by_test_id("kpi-table")).to_be_visible()
    keys = unit.get_by_test_id("kpi-row").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert keys == [POLICE_UNIT]
    expect(unit.get_by_test_id("hotspots")).to_have_count(0)
    assert not (page.errors or unit.errors)


MENUS = {
    "clerk": {"frontdesk"},
    "dispatcher": {"frontdesk", "dispatch", "supervision", "analytics"},
    "supervisor": {"dispatch", "supervision", "analytics"},
    "police": {"inbox", "analytics"},
    "admin": {"frontdesk", "dispatch", "inbox", "supervision", "analytics"},
}


@pytest.mark.parametrize("user", sorted(MENUS))
def test_menus_follow_roles(open_page, user):
    page = open_page("desktop")
    login(page, user)
    shown = set(page.locator('#menu a').evaluate_all("as => as.map(a => a.dataset.testid.replace('menu-', ''))"))
    assert shown == MENUS[user]
    if "dispatch" not in MENUS[user]:   # typing the address does not open a scene the role lacks
        page.evaluate("() => { location.hash = '#/dispatch'; }")
        page.wait_for_function("() => location.hash !== '#/dispatch'")
        expect(page.get_by_test_id("menu-dispatch")).to_have_count(0)


SCREENS = {"clerk": ["frontdesk"], "dispatcher": ["dispatch"], "police": ["inbox"],
           "supervisor": ["supervision", "analytics"]}


@pytest.mark.parametrize("viewport", ["desktop", "tablet-landscape", "tablet-portrait"])
def test_no_horizontal_overflow_on_main_screens(open_page, viewport):
    for user, scenes in SCREENS.items():
        page = open_page(viewport)
        login(page, user)
        for scene in scenes:
            page.get_by_test_id(f"menu-{scene}").click()
            page.wait_for_selector(f'main[data-scene="{scene}"]')
            if scene == "frontdesk":
                page.get_by_test_id("matter-search").fill("身份证丢了")
                page.get_by_test_id("matter-search-go").click()
                page.get_by_test_id("matter-hit").first.click()
                page.get_by_test_id("stepper-5").click()
                page.get_by_test_id("bot-toggle").click()
            assert horizontal_overflow(page) <= 0, f"{user}/{scene} overflows at {viewport}"
            shot(page, f"{scene}-{viewport}", full_page=False)


def test_large_font_mode_for_residents(open_page):
    page = open_page("tablet-landscape")
    login(page, "clerk")
    body_px = lambda: float(page.evaluate("() => getComputedStyle(document.body).fontSize")[:-2])  # noqa: E731
    assert body_px() >= 18
    page.get_by_test_id("large-toggle").click()
    expect(page.get_by_test_id("large-toggle")).to_have_attribute("aria-pressed", "true")
    assert body_px() >= 30
    page.get_by_test_id("matter-search").fill("身份证丢了")
    page.get_by_test_id("matter-search-go").click()
    page.get_by_test_id("matter-hit").first.click()
    page.get_by_test_id("stepper-3").click()
    for el in page.locator("main button:visible, main .checklist label").all():
        box = el.bounding_box()
        assert box["width"] >= 60 and box["height"] >= 60, (el.inner_text(), box)
    assert horizontal_overflow(page) <= 0
    shot(page, "frontdesk-large-font")


def test_bot_panel_shows_the_suggested_next_line(open_page, target):
    if not target.rasa:
        pytest.skip("no Rasa in this target")
    page = open_page("desktop")
    login(page, "clerk")
    page.get_by_test_id("bot-toggle").click()
    expect(page.get_by_test_id("bot-log").locator("li.bot").first).to_be_visible(timeout=60000)
    page.get_by_test_id("bot-input").fill("我的身份证丢了怎么补办")
    page.get_by_test_id("bot-send").click()
    expect(page.get_by_test_id("bot-log").locator("li.me")).to_have_count(1)
    expect(page.get_by_test_id("bot-suggested")).not_to_have_text(re.compile("还没有回复"), timeout=60000)
    suggested = page.get_by_test_id("bot-suggested").inner_text()
    assert suggested and "没有给出" not in suggested and "不可用" not in suggested
    shot(page, "frontdesk-bot-panel")


ID_SAMPLES = ["11010519491231002X", "11010519491231002x", ELDER_ID, ELDER_BAD_ID, "1101051949123100", "99010519491231002X",
              "110105194913310021", "11010518000101002X", "440524188001010014", "532522194407080049"]
PHONE_SAMPLES = ["13800001111", "12800001111", "1380000111", "+8613800001111", "8613800001111", "19912345678"]


def test_browser_validation_mirrors_textnorm(open_page):
    from textnorm.idcard import validate_id_number
    from textnorm.phone import validate_phone

    page = open_page("desktop")
    got = page.evaluate("""async ([ids, phones]) => {
        const v = await import('/js/validate.js');
        return {ids: ids.map(x => { const r = v.validateIdNumber(x); return [r.ok, r.reason]; }),
                phones: phones.map(x => { const r = v.validatePhone(x); return [r.ok, r.value, r.reason]; })};
    }""", [ID_SAMPLES, PHONE_SAMPLES])
    assert got["ids"] == [list(validate_id_number(x)[::2]) for x in ID_SAMPLES]
    assert got["phones"] == [list(validate_phone(x)) for x in PHONE_SAMPLES]
    # Deliberate difference: textnorm normalizes *spoken* text (drops stray letters, then counts
    # digits); typed into a form, a stray letter is reported as such.
    assert page.evaluate("async () => (await import('/js/validate.js')).validateIdNumber('1101051949123100AX').reason") \
        == "只能是数字，最后一位可以是叉"
