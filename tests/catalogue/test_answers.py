import re

import pytest

from catalogue.answers import (ASPECTS, OFFER_MATERIALS, OFFER_REGISTER, aspect_payload, chat_answer,
                               voice_answer)


def all_text(matter):
    return "".join(voice_answer(matter, a) + chat_answer(matter, a)["text"] for a in ASPECTS)


def test_voice_answer_is_short_sentences_with_an_offer(fixture_catalogue):
    m = fixture_catalogue.get("gongan.idcard_reissue")
    text = voice_answer(m, "fee")
    assert text == "要交40元。" + OFFER_MATERIALS
    overview = voice_answer(m, "overview")
    assert overview.startswith("居民身份证补领。身份证丢了")
    assert "40元" in overview and overview.endswith(OFFER_MATERIALS)   # the rest when the caller wants it
    sentences = [x for x in re.split("[。？]", overview) if x]
    assert all(len(x) <= 40 for x in sentences), sentences


def test_voice_materials_one_by_one_then_registration(fixture_catalogue):
    m = fixture_catalogue.get("gongan.idcard_reissue")
    text = voice_answer(m, "materials")
    assert text.startswith("要带两样。第一，户口簿（户籍地办理时带）。第二，本人到场")
    assert text.endswith("需要我帮您登记预约吗？")
    temp = fixture_catalogue.get("gongan.idcard_temporary")   # not registrable, optional item
    assert "没有也可以" in voice_answer(temp, "materials")
    assert "登记" not in voice_answer(temp, "materials")


def test_chat_answer_has_structure_and_buttons(fixture_catalogue):
    m = fixture_catalogue.get("gongan.idcard_reissue")
    answer = chat_answer(m, "overview", fixture_catalogue)
    assert answer["text"].startswith("【居民身份证补领】")
    assert "费用：40元" in answer["text"] and "1. 户口簿" in answer["text"]
    assert answer["text"].endswith(OFFER_REGISTER)
    titles = [b["title"] for b in answer["buttons"]]
    assert "带什么材料" in titles and "临时居民身份证办理" in titles
    assert aspect_payload("gongan.idcard_reissue", "fee") == '/ask_fee{"matter": "gongan.idcard_reissue"}'
    assert all(b["payload"].startswith("/ask_") for b in answer["buttons"])
    assert not chat_answer(fixture_catalogue.get("gongan.idcard_temporary"), "fee")["text"].endswith(OFFER_REGISTER)


def test_unknown_aspect_falls_back_to_overview(fixture_catalogue):
    m = fixture_catalogue.get("gongan.idcard_loss_report")
    assert voice_answer(m, "nonsense") == voice_answer(m, "overview")
    assert voice_answer(m, "fee").startswith("不收费。")


def test_every_matter_answers_every_aspect(real_catalogue):
    for m in real_catalogue.matters:
        for aspect in ASPECTS:
            assert voice_answer(m, aspect)
            assert chat_answer(m, aspect, real_catalogue)["text"]


# ID-card facts: what the answers say must be what the law/national rules say.
@pytest.mark.parametrize("mid,aspect,facts", [
    ("gongan.idcard_reissue", "fee", ["40元"]),
    ("gongan.idcard_reissue", "time", ["60"]),
    ("gongan.idcard_temporary", "fee", ["10元"]),
    ("gongan.idcard_temporary", "time", ["3"]),
    ("gongan.idcard_temporary", "overview", ["3个月"]),
    ("gongan.idcard_first", "fee", ["20元"]),
    ("gongan.idcard_first", "time", ["60"]),
    ("gongan.idcard_renewal", "fee", ["20元"]),
    ("gongan.idcard_renewal", "time", ["60"]),
])
def test_idcard_facts_in_answers(real_catalogue, mid, aspect, facts):
    m = real_catalogue.get(mid)
    assert m is not None, mid
    said = voice_answer(m, aspect) + chat_answer(m, aspect)["text"]
    if aspect == "overview":
        said += m["time_limit"]["text"] + m["summary"]
    for fact in facts:
        assert fact in said, (mid, aspect, fact, said)


def test_idcard_loss_report_is_optional_and_never_110(real_catalogue):
    loss = real_catalogue.get("gongan.idcard_loss_report")
    text = all_text(loss)
    assert any(w in text for w in ("不是必须", "可以不", "非必须", "自愿", "可选", "不用专门")), text
    for mid in ("gongan.idcard_reissue", "gongan.idcard_temporary", "gongan.idcard_first",
                "gongan.idcard_renewal", "gongan.idcard_loss_report"):
        # Never sends anyone to 110 for an ID card ("不用打110" is the only allowed mention).
        text = all_text(real_catalogue.get(mid))
        for hit in re.finditer("110", text):
            assert re.search("(不用|不必|无需|不需要)[打拨报找]*$", text[max(0, hit.start() - 6):hit.start()]), (
                mid, text[max(0, hit.start() - 20):hit.end() + 10])
