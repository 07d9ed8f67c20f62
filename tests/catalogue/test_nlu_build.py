import yaml

from catalogue import nlu_build
from catalogue.loader import load_catalogue


def test_build_is_deterministic_bounded_and_covers_every_matter(tmp_path):
    catalogue = load_catalogue(strict=False)
    first = nlu_build.build(catalogue)
    assert first == nlu_build.build(catalogue)
    doc = yaml.safe_load(first)
    intents = {b["intent"]: b["examples"] for b in doc["nlu"] if "intent" in b}
    assert set(intents) == {"ask_matter", "ask_materials", "ask_fee", "ask_time", "ask_where", "ask_online",
                            "ask_proxy", "ask_eligibility"}
    total = sum(len(v.strip().splitlines()) for v in intents.values())
    assert 400 <= total <= 1200, total
    # Which matter is named is decided at parse time from the whole catalogue, not learnt.
    assert not any("lookup" in b or "synonym" in b for b in doc["nlu"])
    assert '"entity"' not in first
    out = nlu_build.main(tmp_path / "gen" / "catalogue.yml")
    assert out.read_text(encoding="utf-8") == first


def test_shared_aliases_are_left_to_search(fixture_catalogue):
    fixture_catalogue.get("gongan.idcard_temporary")["aliases"].append("补办身份证")
    try:
        surfaces = nlu_build.matter_surfaces(fixture_catalogue)
        assert "补办身份证" not in surfaces["gongan.idcard_reissue"]
        assert "补办身份证" not in surfaces["gongan.idcard_temporary"]
    finally:
        fixture_catalogue.get("gongan.idcard_temporary")["aliases"].remove("补办身份证")


def test_generated_data_is_valid_rasa_nlu(tmp_path):
    from rasa.shared.nlu.training_data.loading import load_data

    path = tmp_path / "catalogue.yml"
    path.write_text(nlu_build.build(load_catalogue(strict=False)), encoding="utf-8")
    data = load_data(str(path))
    assert "ask_materials" in data.intents
    assert not any(ex.get("entities") for ex in data.training_examples)
