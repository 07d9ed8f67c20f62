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
