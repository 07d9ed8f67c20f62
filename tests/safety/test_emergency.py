"""Emergencies and their near-misses (safety/emergency.py), the cases issue 11 names."""
import pytest

from safety.emergency import detect


@pytest.mark.parametrize("text,kind,number", [
    ("我家着火了", "fire", "119"),
    ("我爸喘不上气了，脸都紫了", "medical_breathing", "120"),
    ("俺妈把一瓶安眠药都吃了", "medical_poisoning", "120"),
    ("屋里好大一股煤气味", "gas_leak", "119"),
    ("我老汉从房顶上摔下来了，流了好多血", "medical_bleeding", "120"),
    ("我老伴突然嘴歪了，说话不清楚", "medical_stroke_heart", "120"),
    ("我老伴晕倒了叫不醒", "medical_unconscious", "120"),
    ("娃掉河里了", "drowning", "119"),
    ("有人拿刀砍人", "crime_now", "110"),
    ("村口出车祸了", "traffic_accident", "122"),
])
def test_emergency_kind_and_number(text, kind, number):
    found = detect(text)
    assert (found.kind, found.number) == (kind, number)


def test_traffic_accident_with_injured_also_names_120():
    assert detect("村口两辆车撞了，有人流血").numbers == ("122", "120")


def test_emergency_told_inside_another_request_is_still_an_emergency():
    assert detect("我本来想问补贴的事，我老伴突然倒地上叫不醒了").number == "120"


@pytest.mark.parametrize("text", [
    "他叫张德贵", "我叫王火旺", "火车站旁边那个派出所", "火神庙村的低保怎么办",
    "我身份证丢了，想先挂个失", "去年家里失过火，现在想办临时救助", "前年出了车祸腿残了，想办残疾证",
    "我要表扬派出所的民警，帮我找回了钱包", "路口的红绿灯坏了好几天了", "交通事故认定书去哪里拿",
    "我想办个残疾证", "身份证到期了要换", "煤气费在哪里交", "急死人了，低保到底批没批",
    "有人天天在河边烧垃圾，烟好大",
])
def test_near_misses_are_not_emergencies(text):
    assert detect(text) is None
