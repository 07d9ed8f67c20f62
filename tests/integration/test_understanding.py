"""What issue 11 says a caller needs, through the REST channel of a model trained from scratch
(the session's `trained_model`, exactly as CI and `make run` train it). One phrasing each."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_lost_id_card_starts_the_lost_id_flow(conversation):
    reply = conversation().texts("我身份证丢了")
    assert "偷" in reply and reply.endswith("？"), reply


def test_wanting_to_report_the_loss_first_does_not_end_the_call(conversation):
    c = conversation(metadata={"channel": "voice"})
    reply = c.texts("我身份证丢了，想先挂个失")
    assert "偷" in reply and "再见" not in reply, reply


def test_disability_card_is_answered_about_the_disability_card(conversation):
    reply = conversation().texts("我想办个残疾证")
    assert "残疾人证" in reply and "120" not in reply and "救护车" not in reply, reply


def test_expired_id_card_is_not_a_fire(conversation):
    reply = conversation().texts("身份证到期了要换")
    assert "119" not in reply and "火警" not in reply and "换领" in reply, reply


def _to_name_question(c) -> None:
    c.texts("我老伴身份证丢了")          # for whom is said in the opening: not asked again
    c.texts("没有，自己弄丢的")
    c.texts("不出门")
    assert "名字" in c.texts("要")


def test_a_name_inside_the_form_is_taken_as_the_name(conversation):
    c = conversation()
    _to_name_question(c)
    reply = c.texts("他叫张德贵")
    assert "身份证号" in reply and "120" not in reply, reply


def test_stroke_signs_inside_the_form_are_an_emergency_first(conversation):
    c = conversation()
    _to_name_question(c)
    reply = c.texts("哎呀我老伴突然嘴歪了，说话也说不清楚")
    assert "120" in reply and "别喂水喂药" in reply, reply


@pytest.mark.parametrize("text,number,advice", [
    ("我爸喘不上气了", "120", "松开领口"),
    ("俺妈把一瓶安眠药都吃了", "120", "药瓶"),
    ("屋里好大一股煤气味", "119", "别点火"),
    ("我老汉从房顶上摔下来了，流了好多血", "120", "按住伤口"),
])
def test_emergencies_get_the_number_and_fitting_advice(conversation, text, number, advice):
    reply = conversation().texts(text)
    assert number in reply and advice in reply, reply


def test_praise_for_the_police_is_not_sent_to_110(conversation):
    reply = conversation().texts("我要表扬派出所的李警官，帮我找回了钱包")
    assert "110" not in reply, reply


def test_broken_traffic_light_is_not_sent_to_122(conversation):
    reply = conversation().texts("路口的红绿灯坏了好几天了")
    assert "122" not in reply, reply
