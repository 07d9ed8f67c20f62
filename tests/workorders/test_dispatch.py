"""workorders.dispatch.route: department, level, unit, fallback and co-handlers."""
from __future__ import annotations

import time

import pytest

from workorders.classify import classify
from workorders.directory import load_directory
from workorders.dispatch import Assignment, load_rules, route


@pytest.fixture(scope="module")
def d():
    return load_directory()


def test_power_cut_goes_to_the_township_power_station(d):
    a = route(classify("大坪乡石门村停电两天了"), directory=d)
    assert isinstance(a, Assignment) and a.ok
    assert d.unit(a.lead_unit_id).name == "国网松溪县供电公司大坪供电所"
    assert a.level == "township" and not a.fallback
    assert "供电" in a.reason_zh


def test_a_public_hazard_is_fixed_by_its_unit_and_coordinated_by_the_centre(d):
    # intake_rules.yaml 类别的读法: 综治类, the power station leads, the township's 综治中心 co-handles
    a = route(classify("大坪乡石门村村口电线掉在路上了，还在冒火星子"), directory=d)
    assert d.unit(a.lead_unit_id).name == "国网松溪县供电公司大坪供电所"
    assert "zongzhi" in a.co_departments and "综治中心" in a.reason_zh
    home = route(classify("大坪乡石门村我家厨房燃气表那里嘶嘶响，一股臭味，还没着火"), directory=d)
    assert home.department == "ranqi" and "zongzhi" not in home.co_departments


def test_same_request_other_township_other_unit(d):
    a1 = route(classify("龙泉乡下河村停电了"), directory=d)
    a2 = route(classify("杏花乡前进村停电了"), directory=d)
    assert a1.lead_unit_id != a2.lead_unit_id
    assert d.unit(a1.lead_unit_id).township == "龙泉乡" and d.unit(a2.lead_unit_id).township == "杏花乡"


def test_police_non_emergency_goes_to_the_township_police_station(d):
    c = classify("柳树镇杨湾村有个陌生人这几天老在村里转，挨家挨户看")
    c.category = "警务类"   # route() must not depend on the model for this rule
    a = route(c, directory=d)
    assert d.unit(a.lead_unit_id).name == "松溪县公安局柳树派出所"


def test_unknown_place_falls_back_up_the_hierarchy(d):
    a = route(classify("我们这停电了"), directory=d)
    assert a.fallback and d.unit(a.lead_unit_id).level == "prefecture"
    a = route(classify("我们这停电了"), location={"county": "白石县"}, directory=d)
    assert a.fallback and d.unit(a.lead_unit_id).name == "国网白石县供电公司"


def test_department_without_township_unit_goes_to_county(d):
    a = route(classify("马家集乡刘庄村到县城的班车停了好久了"), directory=d)
    assert d.unit(a.lead_unit_id).name == "清河县交通运输局"


def test_multi_department_pollution_lead_and_co(d):
    a = route(classify("石桥村那条河被养殖场的粪水污染了，鱼都死光了"), directory=d)
    assert d.unit(a.lead_unit_id).department == "shengtai"
    assert [d.unit(i).department for i in a.co_unit_ids] == ["nongye"]
    assert d.unit(a.co_unit_ids[0]).county == "白石县"


def test_multi_department_illegal_building_on_road(d):
    a = route(classify("城关镇有户人家在路边违章建房，把路占了一半"), directory=d)
    assert d.unit(a.lead_unit_id).name == "城关镇综合行政执法队"
    assert {d.unit(i).department for i in a.co_unit_ids} == {"ziranziyuan", "zhujian"}
    assert "协办" in a.reason_zh


def test_complaint_about_county_bureau_goes_to_county(d):
    c = classify("白石县医保局打电话永远没人接，龙泉乡的")
    c.type = "投诉"
    a = route(c, directory=d)
    assert d.unit(a.lead_unit_id).level == "county"


def test_matter_level_decides(d):
    from workorders.dispatch import get_catalogue
    cat = get_catalogue()
    if cat is None or "minzheng.dibao" not in cat:
        pytest.skip("service catalogue not available")
    c = classify("低保咋申请，我是大坪乡石门村的")
    assert c.matter_id == "minzheng.dibao"
    a = route(c, directory=d)
    assert a.level == "township" and d.unit(a.lead_unit_id).township == "大坪乡"


def test_refusal_and_dict_input(d):
    c = classify("哈哈，我就是打着玩的")
    a = route(c.to_dict(), directory=d)
    assert not a.ok and a.refused == "harassment"
    with pytest.raises(ValueError):
        route(None, directory=d)


def test_rules_file_validation(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("keywords:\n  - {name: x, all: ['a'], lead: gongan, level: planet, reason_zh: y}\n"
                   "category_defaults: {}\nmatter_levels: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown level"):
        load_rules(bad)


def test_route_is_fast_on_full_size_directory():
    from scripts.gen_directory import generate
    big = generate()
    towns = big.places("township")
    cs = [classify(t) for t in ("停电了", "养殖场往河里排粪水", "路边违章建房占道", "低保咋申请")]
    route(cs[0], {"township_id": towns[0].id}, big)
    t0 = time.perf_counter()
    n = 0
    for i, t in enumerate(towns[:200]):
        for c in cs:
            a = route(c, {"township_id": t.id}, big)
            assert a.ok
            n += 1
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 0.002, f"{per_call * 1000:.3f} ms per route()"


@pytest.mark.parametrize("matter_id,unit", [
    ("gongan.birth_registration", "松溪县公安局柳树派出所"),      # not the 卫生院 because of "出生"
    ("gongan.death_deregistration", "松溪县公安局柳树派出所"),    # not 人社 because of "养老金"
    ("renshe.pension_qualification", "柳树镇劳动保障所"),         # at the township, not the prefecture
])
def test_a_registration_goes_to_the_matters_unit_at_the_residents_township(matter_id, unit):
    from types import SimpleNamespace

    from workorders.directory import default_directory

    d = default_directory()
    cls = SimpleNamespace(category="政务类", type="求助", urgency="一般", matter_id=matter_id,
                          location={"township": "柳树镇", "village": "杨湾村"}, refusal=None, emergency=None,
                          text="智能助手登记：孩子的出生医学证明拿到了吗：是；老人生前在领养老金吗：是",
                          service_request=True)
    assert d.unit(route(cls, None, d).lead_unit_id).name == unit
