"""connectors.wechat_crypto against the test-side reference implementation of the published algorithm."""
from __future__ import annotations

import base64

import pytest

from connectors.shared import numbered_options
from connectors.wechat_crypto import (CryptoError, UnsafeXMLError, WeChatCrypto, check_signature, parse_xml,
                                      reply_xml)
from connectors.wechat_official import PASSIVE_TEXT_LIMIT, _fit_passive
from tests.connectors.wx_reference import RefCrypt, new_encoding_aes_key, parse, sha1_sorted

TOKEN, APPID = "spamtest", "wx1234567890abcdef"


def test_signature_is_sha1_of_sorted_parts():
    # Vector computed by hand from the published rule: sha1("".join(sorted(...))).
    assert check_signature(sha1_sorted(TOKEN, "1409659813", "1372623149"), TOKEN, "1409659813", "1372623149")
    assert not check_signature(sha1_sorted(TOKEN, "1409659813", "1"), TOKEN, "1409659813", "1372623149")
    assert not check_signature("", TOKEN, "1", "2")


def test_decrypts_what_the_reference_encrypts_and_vice_versa():
    key = new_encoding_aes_key()
    ref, ours = RefCrypt(TOKEN, key, APPID), WeChatCrypto(TOKEN, key, APPID)
    for msg in ["<xml><Content>你好</Content></xml>", "", "x" * 31, "y" * 32, "中" * 1000]:
        assert ours.decrypt(ref.encrypt(msg)) == msg
        assert ref.decrypt(ours.encrypt(msg)) == (msg, APPID)


def test_padding_is_to_32_byte_blocks():
    key = new_encoding_aes_key()
    ours = WeChatCrypto(TOKEN, key, APPID)
    # 16 + 4 + 12 + 18 = 50 bytes -> padded to 64 (PKCS#7 with a 32-byte block, not AES's 16).
    assert len(base64.b64decode(ours.encrypt("x" * 12))) == 64


def test_wrong_appid_and_garbage_are_rejected():
    key = new_encoding_aes_key()
    ours = WeChatCrypto(TOKEN, key, APPID)
    with pytest.raises(CryptoError):
        ours.decrypt(RefCrypt(TOKEN, key, "wxother").encrypt("<xml/>"))
    with pytest.raises(CryptoError):
        ours.decrypt("not base64!!")
    with pytest.raises(CryptoError):
        ours.decrypt(base64.b64encode(b"\x00" * 32).decode())
    with pytest.raises(CryptoError):
        WeChatCrypto(TOKEN, new_encoding_aes_key(), APPID).decrypt(RefCrypt(TOKEN, key, APPID).encrypt("<xml/>"))


def test_encrypted_reply_envelope_verifies_with_the_reference():
    key = new_encoding_aes_key()
    env = parse(WeChatCrypto(TOKEN, key, APPID).encrypted_reply("<xml><A>1</A></xml>", nonce="n1"))
    assert env["Nonce"] == "n1"
    assert env["MsgSignature"] == sha1_sorted(TOKEN, env["TimeStamp"], env["Nonce"], env["Encrypt"])
    assert RefCrypt(TOKEN, key, APPID).decrypt(env["Encrypt"]) == ("<xml><A>1</A></xml>", APPID)


@pytest.mark.parametrize("body", [
    b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><A>&x;</A></xml>',
    b'<!DOCTYPE xml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml><A>&b;</A></xml>',
    b'<!DOCTYPE xml SYSTEM "http://example.invalid/x.dtd"><xml/>',
    b"<xml><A>unclosed</xml>",
    b"<other><A>1</A></other>",
    b"",
])
def test_unsafe_or_malformed_xml_is_refused(body):
    with pytest.raises(UnsafeXMLError):
        parse_xml(body)


def test_parse_flat_and_nested_xml():
    data = parse_xml("<xml><A><![CDATA[你好]]></A><B>2</B><C><D>3</D></C></xml>".encode())
    assert data == {"A": "你好", "B": "2", "C": {"D": "3"}}


def test_reply_xml_escapes_cdata_terminator():
    xml = reply_xml("o1", "gh_1", "text", "a]]>b<c>")
    assert parse(xml)["Content"] == "a]]>b<c>"
    assert parse(reply_xml("o1", "gh_1", "transfer_customer_service"))["MsgType"] == "transfer_customer_service"


def test_buttons_become_numbered_options():
    text, mapping = numbered_options([{"title": "是的", "payload": "/affirm"}, {"title": "不是", "payload": "/deny"}])
    assert text == "回复1：是的\n回复2：不是"
    assert mapping == {"1": "/affirm", "2": "/deny"}


def test_long_answers_are_split_within_the_passive_limit():
    first, rest = _fit_passive(["短句。", "长" * 1000])
    assert first == "短句。" and rest == ["长" * 1000]
    first, rest = _fit_passive(["长" * 1000])
    assert len(first.encode()) <= PASSIVE_TEXT_LIMIT and first + "".join(rest) == "长" * 1000
