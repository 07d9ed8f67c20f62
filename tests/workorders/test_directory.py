"""workorders.directory and scripts/gen_directory.py."""
from __future__ import annotations


import pytest

from scripts.gen_directory import generate
from workorders.directory import Directory, DirectoryError, load_directory


@pytest.fixture(scope="module")
def small():
    return load_directory()


def test_small_directory_shape(small):
    c = small.counts()
    assert c["counties"] == 3 and c["townships"] == 10 and c["villages"] == 40
    assert c["units_by_level"]["prefecture"] >= 15 and c["units_by_level"]["village"] == 40
    # every county has 15+ departments and the cross-cutting public-service enterprises
    for county in small.places("county"):
        depts = {u.department for u in small.units_at(county.id)}
        assert len(depts) >= 15
        assert {"dianli", "gongshui", "ranqi"} <= depts
    assert small.staff_count() == sum(u.staff_count for u in small.units)


def test_hierarchy_and_indexes(small):
    town = small.places_named("大坪乡")[0]
    station = small.at("gongan", town.id)
    assert station.name == "松溪县公安局大坪派出所" and station.level == "township"
    assert small.parent(station.id).name == "松溪县公安局"
    assert small.parent(small.parent(station.id).id).name == "云岭市公安局"
    assert station.id in {u.id for u in small.children(small.parent(station.id).id)}
    village = [p for p in small.child_places(town.id) if p.name == "石门村"][0]
    committee = small.at("cunwei", village.id)
    assert small.parent(committee.id).name == "大坪乡人民政府"
    # township has no 医保 unit: lookup goes up to the county bureau
    assert small.lookup_up("yibao", village.id).name == "松溪县医疗保障局"
    assert small.find(department="gongan", level="township") and \
        all(u.level == "township" for u in small.find(department="gongan", level="township"))
    with pytest.raises(DirectoryError):
        small.find(level="province")


def test_staff_accounts_have_no_personal_data(small):
    unit = small.at("zhengwu", small.places_named("城关镇")[0].id)
    accounts = small.staff_accounts(unit.id)
    assert len(accounts) == unit.staff_count > 0
    assert all(a.unit_id == unit.id and a.role in ("dispatcher", "handler", "reviewer") for a in accounts)
    assert all(set(vars(a) if hasattr(a, "__dict__") else a.__slots__) <= {"id", "unit_id", "role"}
               for a in accounts)


def test_locate_resolves_ambiguous_village_names(small):
    # two 王家村 (城关镇, 柳树镇) in 松溪县
    assert small.locate("王家村路灯坏了")["village"] is None
    assert small.locate("王家村路灯坏了")["county"] == "松溪县"
    assert small.locate("柳树镇王家村路灯坏了")["township_id"] == "C01T03"
    assert small.locate("王家村路灯坏了", {"township": "城关镇"})["township"] == "城关镇"
    assert small.locate("我是大坪镇李家庄的")["village"] == "李家庄村"   # 乡/镇 mixed up, 村 dropped
    assert small.locate("今天天气不错")["place_id"] is None


def test_locate_names_without_their_level_word(small):
    assert small.locate("城关大十字那个红绿灯坏了")["township"] == "城关镇"
    assert small.locate("西街菜市场门口的路灯坏了")["village"] == "西街社区"
    assert small.locate("白石派出所的民警态度好")["township"] == "白石镇"
    assert small.locate("杨湾这边停水两天了")["village"] == "杨湾村"
    # two characters alone are ordinary words unless a place word follows
    assert small.locate("村口那座石桥断了")["place_id"] is None
    assert small.locate("中心小学门口堵车")["place_id"] is None


def test_round_trip_jsonl(small, tmp_path):
    path = small.dump_jsonl(tmp_path / "d.jsonl.gz")
    again = load_directory(path)
    assert again.counts() == small.counts()
    assert again.unit("C01T02-gongan") == small.unit("C01T02-gongan")


def test_bad_files(tmp_path):
    with pytest.raises(DirectoryError):
        load_directory(tmp_path / "missing.yaml")
    bad = tmp_path / "d.txt"
    bad.write_text("x")
    with pytest.raises(DirectoryError):
        load_directory(bad)
    broken = tmp_path / "d.jsonl"
    broken.write_text('{"type": "meta", "format": "govdesk-directory/1"}\nnot json\n')
    with pytest.raises(DirectoryError, match="bad JSON"):
        load_directory(broken)
    with pytest.raises(DirectoryError, match="unknown place"):
        Directory([{"id": "P", "name": "市", "level": "prefecture"}],
                  [{"id": "u", "name": "u", "department": "x", "level": "county", "place_id": "nowhere"}])


def test_generator_small_sizes_exact_and_deterministic():
    a = generate(bodies=100, units=300, staff=800, counties=2, townships_per_county=(2, 3), seed=7)
    b = generate(bodies=100, units=300, staff=800, counties=2, townships_per_county=(2, 3), seed=7)
    c = generate(bodies=100, units=300, staff=800, counties=2, townships_per_county=(2, 3), seed=8)
    ca = a.counts()
    assert (ca["functional_bodies"], ca["units"], ca["staff_accounts"]) == (100, 300, 800)
    assert [u.to_dict() for u in a.units] == [u.to_dict() for u in b.units]
    assert [p.name for p in a.places()] != [p.name for p in c.places()]
    with pytest.raises(ValueError, match="bodies impossible"):
        generate(bodies=10, units=300, staff=800, counties=2)


def test_generator_full_size_counts():
    d = generate()
    c = d.counts()
    assert (c["functional_bodies"], c["units"], c["staff_accounts"]) == (755, 10_520, 23_219)
