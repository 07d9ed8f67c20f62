import logging

import pytest

from common import privacy


def test_masks_follow_conventions():
    assert privacy.mask_id("11010519491231002X") == "110105********002X"
    assert privacy.mask_phone("13812345678") == "138****5678"
    assert privacy.mask_name("张三") == "张*"
    assert privacy.mask_name("欧阳娜娜") == "欧阳**"


def test_mask_text_finds_numbers_inside_sentences():
    text = "我叫张三，身份证11010519491231002X，电话13812345678，订单号202611220001"
    masked = privacy.mask_text(text)
    assert "11010519491231002X" not in masked and "13812345678" not in masked
    assert "110105********002X" in masked and "138****5678" in masked
    assert "202611220001" in masked  # not a phone: 12 digits


def test_logs_are_masked(caplog):
    logger = logging.getLogger("privacy-test")
    handler_filter = privacy.MaskingFilter()
    caplog.handler.addFilter(handler_filter)
    logger.warning("caller %s id %s", "13812345678", "440524188001010014")
    assert "13812345678" not in caplog.text and "440524188001010014" not in caplog.text
    assert "138****5678" in caplog.text


def test_encryption_round_trip_and_tamper_detection(monkeypatch, tmp_path):
    monkeypatch.setenv("GOVDESK_SECRET_KEY_FILE", str(tmp_path / "k"))
    monkeypatch.delenv("GOVDESK_SECRET_KEY", raising=False)
    privacy._fernet.cache_clear()
    try:
        token = privacy.encrypt("13812345678")
        assert "13812345678" not in token
        assert privacy.decrypt(token) == "13812345678"
        with pytest.raises(ValueError):
            privacy.decrypt(token[:-4] + "AAAA")
        assert privacy.caller_key("13812345678") == privacy.caller_key("13812345678")
        assert privacy.caller_key("13812345678") != privacy.caller_key("13812345679")
        assert "13812345678" not in privacy.caller_key("13812345678")
    finally:
        privacy._fernet.cache_clear()


@pytest.mark.parametrize("text,clear", [
    ("电话１３８００００１１１１", "１３８００００１１１１"),
    ("号码是138 0000 1111", "138 0000 1111"),
    ("手机138-0000-1111", "138-0000-1111"),
    ("幺三八零零零零幺幺幺幺", "幺三八零零零零幺幺幺幺"),
    ("身份证110105 19491231 002X", "110105 19491231 002X"),
    ("8613800001111", "13800001111"),
    ("座机0571-88886666", "88886666"),
])
def test_mask_text_finds_numbers_however_written(text, clear):
    assert clear not in privacy.mask_text(text)


def test_mask_text_masks_names_after_wo_jiao_but_not_references():
    masked = privacy.mask_text("我叫王桂兰，编号12345202611290001")
    assert "王桂兰" not in masked and "王" in masked and "12345202611290001" in masked
    assert privacy.mask_text("我老伴叫不醒") == "我老伴叫不醒"


def test_exception_text_is_masked(caplog):
    logger = logging.getLogger("privacy-exc-test")
    caplog.handler.addFilter(privacy.MaskingFilter())
    try:
        raise ValueError("bad phone 13812345678")
    except ValueError:
        logger.exception("failed")
    assert "13812345678" not in caplog.text
