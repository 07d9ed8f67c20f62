"""WeChat message signing, encryption (消息加解密) and safe XML handling.

Published algorithm (公众号 "消息加解密说明", same scheme as WXBizMsgCrypt):
- signature     = SHA1(sorted([token, timestamp, nonce]) joined)           (plain / URL verification)
- msg_signature = SHA1(sorted([token, timestamp, nonce, Encrypt]) joined)  (safe mode)
- AESKey = Base64_Decode(EncodingAESKey + "=")  (43 chars -> 32 bytes), IV = AESKey[:16]
- AES-256-CBC, PKCS#7 padding to a 32-byte block size
- plaintext = random(16) + msg_len (4 bytes, network order) + msg + appid
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from xml.parsers import expat

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class SignatureError(Exception):
    """Signature or msg_signature does not match."""


class CryptoError(Exception):
    """Ciphertext cannot be decrypted, is malformed, or belongs to another appid."""


class UnsafeXMLError(ValueError):
    """XML with a DOCTYPE/ENTITY declaration, or not well-formed."""


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(str(p) for p in parts)).encode("utf-8")).hexdigest()


def check_signature(expected: str, *parts: str) -> bool:
    if not expected:
        return False
    return hmac.compare_digest(sha1_signature(*parts), expected.lower())


def _pkcs7_pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def _pkcs7_unpad(data: bytes) -> bytes:
    if not data:
        raise CryptoError("empty plaintext")
    n = data[-1]
    if n < 1 or n > BLOCK or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad padding")
    return data[:-n]


class WeChatCrypto:
    """Encrypt/decrypt WeChat messages for one (token, EncodingAESKey, appid)."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str):
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        self.token = token
        self.appid = appid
        self.key = base64.b64decode(encoding_aes_key + "=")
        if len(self.key) != 32:
            raise ValueError("EncodingAESKey does not decode to 32 bytes")
        self.iv = self.key[:16]

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.iv))

    def encrypt(self, msg: str, random16: bytes | None = None) -> str:
        body = msg.encode("utf-8")
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + self.appid.encode()
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(_pkcs7_pad(plain)) + enc.finalize()).decode()

    def decrypt(self, encrypted: str, check_appid: bool = True) -> str:
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except Exception as exc:  # noqa: BLE001 - binascii.Error and friends
            raise CryptoError("Encrypt is not base64") from exc
        if not raw or len(raw) % 16:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        dec = self._cipher().decryptor()
        plain = _pkcs7_unpad(dec.update(raw) + dec.finalize())
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("declared length exceeds plaintext")
        msg = plain[20:20 + length]
        appid = plain[20 + length:].decode("utf-8", "replace")
        if check_appid and not hmac.compare_digest(appid.encode(), self.appid.encode()):
            raise CryptoError("appid mismatch")
        try:
            return msg.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CryptoError("message is not UTF-8") from exc

    def msg_signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return sha1_signature(self.token, timestamp, nonce, encrypted)

    def encrypted_reply(self, reply_xml: str, nonce: str | None = None, timestamp: str | None = None) -> str:
        """Wrap a passive reply for safe mode: <Encrypt/><MsgSignature/><TimeStamp/><Nonce/>."""
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or base64.b16encode(os.urandom(5)).decode().lower()
        encrypted = self.encrypt(reply_xml)
        signature = self.msg_signature(timestamp, nonce, encrypted)
        return (
            "<xml>"
            f"<Encrypt>{cdata(encrypted)}</Encrypt>"
            f"<MsgSignature>{cdata(signature)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce>{cdata(nonce)}</Nonce>"
            "</xml>"
        )


def cdata(text: str) -> str:
    """CDATA section; a literal "]]>" inside the text is split across two sections."""
    return "<![CDATA[" + str(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def parse_xml(body: bytes) -> dict:
    """Parse WeChat's flat <xml>…</xml> into {tag: text}; nested elements become dicts.

    Uses expat directly with every declaration handler refusing: no DOCTYPE, no
    ENTITY (internal or external), no external parameter entities. Anything not
    well-formed raises UnsafeXMLError.
    """

    def refuse(*_args):
        raise UnsafeXMLError("DOCTYPE/ENTITY declarations are not accepted")

    parser = expat.ParserCreate("UTF-8")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.NotationDeclHandler = refuse

    stack: list[tuple[str, dict, list[str]]] = []
    result: dict = {}
    root_seen = []

    def start(tag, _attrs):
        if not stack:
            root_seen.append(tag)
        stack.append((tag, {}, []))

    def end(tag):
        name, children, texts = stack.pop()
        value = children if children else "".join(texts)
        if stack:
            stack[-1][1][name] = value
        else:
            result.update(children)

    def chars(data):
        if stack:
            stack[-1][2].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(body, True)
    except UnsafeXMLError:
        raise
    except expat.ExpatError as exc:
        raise UnsafeXMLError(f"malformed XML: {exc}") from exc
    if root_seen != ["xml"]:
        raise UnsafeXMLError("root element must be <xml>")
    return result


def reply_xml(to_user: str, from_user: str, msg_type: str, content: str | None = None,
              create_time: int | None = None) -> str:
    """Passive reply (被动回复消息) of type text or transfer_customer_service."""
    create_time = int(create_time or time.time())
    parts = [
        "<xml>",
        f"<ToUserName>{cdata(to_user)}</ToUserName>",
        f"<FromUserName>{cdata(from_user)}</FromUserName>",
        f"<CreateTime>{create_time}</CreateTime>",
        f"<MsgType>{cdata(msg_type)}</MsgType>",
    ]
    if content is not None:
        parts.append(f"<Content>{cdata(content)}</Content>")
    parts.append("</xml>")
    return "".join(parts)
