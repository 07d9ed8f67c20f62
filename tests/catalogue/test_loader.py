import shutil

import pytest
import yaml

from catalogue.loader import CatalogueError, load_catalogue, reload_catalogue
from tests.catalogue.conftest import FIXTURES, REQUIRED_IDS


def copy_fixture(tmp_path, mutate=None, overrides=None):
    matters = tmp_path / "matters"
    matters.mkdir()
    doc = yaml.safe_load((FIXTURES / "matters" / "gongan.yaml").read_text(encoding="utf-8"))
    if mutate:
        mutate(doc)
    (matters / "gongan.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    if overrides is not None:
        (tmp_path / "overrides.yaml").write_text(overrides, encoding="utf-8")
    return matters


def test_real_catalogue_loads_and_validates():
    real_catalogue = load_catalogue()          # strict: schema, unique ids, related ids
    assert len(real_catalogue.matters) >= 205
    assert len(real_catalogue.departments) >= 15
    for dept in real_catalogue.departments:
        assert real_catalogue.by_department[dept["id"]], dept


def test_every_required_matter_exists(real_catalogue):
    missing = [mid for mid in REQUIRED_IDS if mid not in real_catalogue]
    assert not missing, missing


def test_catalogue_api(fixture_catalogue):
    c = fixture_catalogue
    assert [d["id"] for d in c.departments] == ["gongan"]
    assert c.get("gongan.idcard_reissue")["fee"]["yuan"] == 40
    assert c.get("nope") is None and c.get(None) is None
    assert len(c.by_department["gongan"]) == 3
    assert c.department_of("gongan.idcard_temporary")["name"] == "公安"


def test_overrides_change_local_facts(fixture_catalogue):
    # tests/catalogue/fixtures/overrides.yaml sets where.text of the reissue matter.
    assert fixture_catalogue.get("gongan.idcard_reissue")["where"]["text"] == "城关派出所户籍窗口"
    assert fixture_catalogue.get("gongan.idcard_temporary")["where"]["text"].startswith("户籍所在地")


def test_shipped_overrides_file_is_an_empty_mapping():
    from catalogue.loader import OVERRIDES_PATH

    assert yaml.safe_load(OVERRIDES_PATH.read_text(encoding="utf-8")) == {}


def test_missing_field_names_file_matter_and_field(tmp_path):
    def drop_fee(doc):
        del doc["matters"][1]["fee"]

    with pytest.raises(CatalogueError) as err:
        load_catalogue(copy_fixture(tmp_path, drop_fee))
    text = str(err.value)
    assert "gongan.yaml" in text and "gongan.idcard_temporary" in text and "'fee' is a required property" in text


def test_wrong_type_names_the_path(tmp_path):
    def bad(doc):
        doc["matters"][0]["aliases"].append(12315)
        doc["matters"][0]["fee"]["yuan"] = "四十"

    with pytest.raises(CatalogueError) as err:
        load_catalogue(copy_fixture(tmp_path, bad))
    assert "gongan.idcard_reissue: aliases/6" in str(err.value)
    assert "fee/yuan" in str(err.value)
    assert len(err.value.problems) == 2


def test_broken_yaml_is_reported(tmp_path):
    matters = copy_fixture(tmp_path)
    (matters / "bad.yaml").write_text("department: {id: x\nmatters: [", encoding="utf-8")
    with pytest.raises(CatalogueError, match="bad.yaml: not valid YAML"):
        load_catalogue(matters)


def test_duplicate_ids_and_dangling_related(tmp_path):
    def dup(doc):
        doc["matters"][2]["id"] = "gongan.idcard_temporary"
        doc["matters"][0]["related"].append("gongan.nothing_here")

    with pytest.raises(CatalogueError) as err:
        load_catalogue(copy_fixture(tmp_path, dup))
    text = str(err.value)
    assert "duplicate id" in text
    assert "related id 'gongan.nothing_here' does not exist" in text


def test_lenient_mode_drops_dangling_related_with_warning(tmp_path):
    def dangling(doc):
        doc["matters"][0]["related"].append("minzheng.dibao")

    c = load_catalogue(copy_fixture(tmp_path, dangling), strict=False)
    assert "minzheng.dibao" not in c.get("gongan.idcard_reissue")["related"]
    assert any("minzheng.dibao" in w for w in c.warnings)


def test_bad_overrides_are_errors(tmp_path):
    matters = copy_fixture(tmp_path, overrides="gongan.nope:\n  fee.text: x\ngongan.idcard_reissue:\n"
                                               "  fee.cents: 1\n  where.nothing.deep: 2\n  fee.yuan: 'abc'\n")
    with pytest.raises(CatalogueError) as err:
        load_catalogue(matters)
    text = str(err.value)
    assert "gongan.nope: no such matter" in text
    assert "where.nothing.deep" in text
    assert "after override fee/yuan" in text or "fee/yuan" in text


def test_loaded_once_until_an_explicit_reload(tmp_path):
    matters = copy_fixture(tmp_path)
    first = load_catalogue(matters)
    shutil.copy(FIXTURES / "matters" / "gongan.yaml", matters / "gongan.yaml")
    text = (matters / "gongan.yaml").read_text(encoding="utf-8").replace('text: "40元"', 'text: "四十元"')
    (matters / "gongan.yaml").write_text(text, encoding="utf-8")
    assert load_catalogue(matters) is first  # no file is read on the hot path
    reload_catalogue()
    again = load_catalogue(matters)
    assert again is not first and again.get("gongan.idcard_reissue")["fee"]["text"] == "四十元"


def test_a_fee_has_one_home_and_an_override_changes_every_sentence(tmp_path):
    matters = copy_fixture(tmp_path, overrides="gongan.idcard_reissue:\n  fee.text: 丢失补领40元（本县免收）\n")
    steps = load_catalogue(matters).get("gongan.idcard_reissue")["steps"]["items"]
    assert "交工本费：丢失补领40元（本县免收）" in steps


def test_an_amount_written_in_a_step_is_refused(tmp_path):
    def write_amount(doc):
        doc["matters"][0]["steps"]["items"][2] = "交40元工本费"

    with pytest.raises(CatalogueError) as err:
        load_catalogue(copy_fixture(tmp_path, write_amount))
    assert "steps.items.2 writes an amount" in str(err.value)
