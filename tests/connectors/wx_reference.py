"""Test-side implementation of WeChat's published message encryption (消息加解密说明).

Written independently of connectors/ from the published description, so the
tests check the connector against the protocol rather than against itself:
  msg_signature = sha1(''.join(sorted([token, timestamp, nonce, msg_encrypt])))
  aes_key = b64decode(EncodingAESKey + '='); iv = aes_key[:16]; AES-256-CBC
  plaintext = 16 random bytes | 4-byte big-endian len(msg) | msg | appid, PKCS#7 to 32 bytes
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def new_encoding_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")   # 43 characters


def sha1_sorted(*items: str) -> str:
    return hashlib.sha1("".join(sorted(items)).encode()).hexdigest()


class RefCrypt:
    def __init__(self, token: str, encoding_aes_key: str, appid: str):
        self.token, self.appid = token, appid
        self.key = base64.b64decode(encoding_aes_key + "=")
        assert len(self.key) == 32

    def encrypt(self, xml_text: str) -> str:
        msg = xml_text.encode()
        data = os.urandom(16) + len(msg).to_bytes(4, "big") + msg + self.appid.encode()
        pad = 32 - len(data) % 32
        data += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(data) + enc.finalize()).decode()

    def decrypt(self, b64: str) -> tuple[str, str]:
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        data = dec.update(base64.b64decode(b64)) + dec.finalize()
        data = data[: -data[-1]]
        n = int.from_bytes(data[16:20], "big")
        return data[20:20 + n].decode(), data[20 + n:].decode()


def query(token: str, *, timestamp: int | None = None, nonce: str | None = None,
          encrypted: str | None = None, openid: str | None = None) -> dict:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**9))
    q = {"signature": sha1_sorted(token, ts, nonce), "timestamp": ts, "nonce": nonce}
    if openid:
        q["openid"] = openid
    if encrypted is not None:
        q["encrypt_type"] = "aes"
        q["msg_signature"] = sha1_sorted(token, ts, nonce, encrypted)
    return q


def text_xml(openid: str, account: str, content: str, msg_id: int | None = None,
             create_time: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msg_id or secrets.randbelow(10**18)}</MsgId></xml>")


def event_xml(openid: str, account: str, event: str, key: str | None = None) -> str:
    extra = f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else ""
    return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event>{extra}</xml>")


def media_xml(openid: str, account: str, msg_type: str, media_id: str, recognition: str | None = None) -> str:
    extra = ""
    if msg_type == "voice":
        extra = "<Format><![CDATA[amr]]></Format>"
        if recognition is not None:
            extra += f"<Recognition><![CDATA[{recognition}]]></Recognition>"
    if msg_type == "image":
        extra = "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x.jpg]]></PicUrl>"
    return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId>{extra}"
            f"<MsgId>{secrets.randbelow(10**18)}</MsgId></xml>")


def encrypted_envelope(account: str, encrypted: str) -> str:
    return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")


def parse(xml_text: str) -> dict:
    """Test-side parse of a reply (the replies come from our own server, not attackers)."""
    root = ET.fromstring(xml_text)
    return {child.tag: (child.text or "") for child in root}
