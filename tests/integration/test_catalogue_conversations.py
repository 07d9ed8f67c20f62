"""Through the real stack: Rasa server + action server + the catalogue."""
import pytest

pytestmark = pytest.mark.integration


def test_idcard_materials_in_chat(conversation):
    c = conversation()
    reply = c.say("补办身份证要带什么")
    text = "".join(m.get("text", "") for m in reply)
    assert "居民身份证补领" in text and "户口簿" in text, text
    assert any(m.get("buttons") for m in reply)
    slots = c.tracker()["slots"]
    assert slots["matter"] == "gongan.idcard_reissue"
    # Follow-up without naming the matter again uses the conversation's matter.
    assert "40元" in c.texts("要多少钱")


def test_elderly_allowance_by_voice(conversation):
    c = conversation(metadata={"channel": "voice", "caller": "13800000000"})
    text = c.texts("高龄补贴怎么领")
    assert "高龄" in text, text
    assert "要不要我一条一条说材料？" in text
    assert c.tracker()["slots"]["matter"] == "minzheng.elderly_allowance"
    assert "第一" in c.texts("要")
