"""Personal data: masking for logs and screens, encryption at rest.

Masking conventions (domain facts): ID 6+4 visible -> 110105********002X; phone 3+4 -> 138****5678;
names keep the surname -> 张*, 欧阳** .
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from common.settings import DATA_DIR, env_str

ID_RE = re.compile(r"(?<![0-9])([1-9][0-9]{5})([0-9]{8})([0-9]{3})([0-9Xx])(?![0-9])")
PHONE_RE = re.compile(r"(?<![0-9])(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")


def mask_id(number: str | None) -> str:
    if not number:
        return ""
    n = str(number)
    if len(n) < 10:
        return "*" * len(n)
    return n[:6] + "*" * (len(n) - 10) + n[-4:]


def mask_phone(number: str | None) -> str:
    if not number:
        return ""
    n = str(number)
    if len(n) < 7:
        return "*" * len(n)
    return n[:3] + "*" * (len(n) - 7) + n[-4:]


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    keep = 2 if len(name) >= 4 else 1  # compound surnames on 4-character names
    return name[:keep] + "*" * (len(name) - keep)


# Digits as people and recognisers write them: Arabic, full-width, spoken Chinese (幺 1, 两 2,
# 洞 0, 拐 7, 勾 9), possibly split by spaces or dashes ("138 0000 1111", "幺三八…").
_DIGITS = "0123456789０１２３４５６７８９零〇一二三四五六七八九幺两洞拐勾"
_DIGIT_VALUES = "0123456789" * 2 + "00123456789" + "1207" + "9"
_TO_DIGIT = {c: v for c, v in zip(_DIGITS, _DIGIT_VALUES)}
_D = "[" + _DIGITS + "]"
_NUMBER_RUN = re.compile(rf"(?<![0-9０-９]){_D}(?:[\s\-－—·]{{0,2}}{_D}){{6,}}(?:[\s]?[XxＸｘ叉])?(?![0-9０-９])")
# Names said after 我叫/他叫/名字是…: the surname stays (张*), the rest is masked.
_NAME = re.compile(r"((?:我|俺|他|她|老人|我妈|我爸|我爱人|我老伴)?(?:叫|名叫|名字叫|名字是|姓名是))"
                   r"(?!不|救|人|个|车|醒|他|她|我|你|啥|什么|了)([\u4e00-\u9fff])([\u4e00-\u9fff]{1,3}?)"
                   r"(?=$|[，。,.!！?？\s的是了吧呢啊嘛，]|[0-9一二三四五六七八九幺])")


def _mask_number_run(m: re.Match) -> str:
    raw = m.group(0)
    digits = "".join(_TO_DIGIT.get(c, "X" if c in "XxＸｘ叉" else "") for c in raw)
    n = len(digits)
    if n in (15, 18) and digits[0] != "0" and digits[:-1].isdigit():
        return digits[:6] + "*" * (n - 10) + digits[-4:]
    if n == 11 and digits[0] == "1" and digits[1] in "3456789":
        return digits[:3] + "****" + digits[-4:]
    if n == 13 and digits.startswith("861") and digits[3] in "3456789":
        return digits[:5] + "****" + digits[-4:]
    if 10 <= n <= 12 and digits[0] == "0" and not digits.startswith("00"):
        return digits[:4] + "*" * (n - 6) + digits[-2:]      # landline with area code
    return raw


def mask_text(text: str) -> str:
    """Mask every ID, mobile or landline number and every name said after 我叫 in free text.

    The one masking function for logs, screens, events and stored free text. Numbers are
    found however they are written (Arabic, full-width, Chinese spoken digits, with spaces
    or dashes); 17-digit work-order references and shorter numbers are left alone.
    """
    if not text:
        return text
    text = ID_RE.sub(lambda m: m.group(1) + "*" * 8 + m.group(3) + m.group(4), text)
    text = PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    text = _NUMBER_RUN.sub(_mask_number_run, text)
    return _NAME.sub(lambda m: m.group(1) + m.group(2) + "*" * len(m.group(3)), text)


class MaskingFilter(logging.Filter):
    """Attach to handlers so that no ID, phone or name reaches a log: message, exception and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - malformed record: leave it
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_log_masking() -> None:
    """Mask on every handler of the root logger and of loggers that do not propagate
    (Rasa and Sanic configure their own), and on handlers added later through the factory."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    loggers = [root] + [lg for lg in logging.Logger.manager.loggerDict.values()
                        if isinstance(lg, logging.Logger) and lg.handlers]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = env_str("GOVDESK_SECRET_KEY")
    if not key:
        path = Path(env_str("GOVDESK_SECRET_KEY_FILE", str(DATA_DIR / "secret.key")))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(Fernet.generate_key())
            path.chmod(0o600)
        key = path.read_text().strip()
    return Fernet(key.encode() if isinstance(key, str) else key)


def load_secret() -> None:
    """Read (or create) the secret now: services call it at startup, so no request reads the key file."""
    _fernet()


def encrypt(plain: str) -> str:
    """Authenticated encryption (AES-128-CBC + HMAC, Fernet) for personal data at rest."""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("personal data could not be decrypted (wrong key or tampered)") from exc


def caller_key(phone: str) -> str:
    """Stable pseudonymous conversation id for a phone number (HMAC, not reversible).

    Channels use it as the Rasa sender id so that a caller who rings back within
    24 h resumes the same conversation without the number being stored in clear.
    """
    digest = hmac.new(derive_key("caller-id"), phone.encode(), hashlib.sha256).hexdigest()
    return f"tel-{digest[:20]}"


def derive_key(purpose: str) -> bytes:
    """A separate 32-byte key per purpose (token signing, phone lookup...), from the one secret."""
    return hmac.new(_fernet()._signing_key, b"govdesk:" + purpose.encode(), hashlib.sha256).digest()


# --- shared secrets between our processes: the variable when set, else derived from the project
# secret, so every process of one installation agrees with no setup ---------------------------------
def shared_secret(name: str, purpose: str) -> str:
    return env_str(name) or derive_key(purpose).hex()


def rasa_token() -> str:
    """Token of Rasa's HTTP API (`rasa run --auth-token`): env RASA_TOKEN."""
    return shared_secret("RASA_TOKEN", "rasa-api")


def action_token() -> str:
    """Between Rasa and the action server (bot/action_server.py; endpoints.yml sends it as ?token=)."""
    return shared_secret("ACTION_TOKEN", "action-server")


def rest_channel_token() -> str:
    """Header X-Govdesk-Channel-Token of internal callers of the REST channel (voice gateway, staff
    API): with it `metadata.caller` is trusted (connectors/resilient_rest.py)."""
    return shared_secret("GOVDESK_CHANNEL_TOKEN", "rest-channel")


def voice_token() -> str:
    """Token of the voice gateway's clients (voice/security.py): env VOICE_TOKEN."""
    return shared_secret("VOICE_TOKEN", "voice-token")


def voice_channel_token() -> str:
    """The voice gateway's channel token (voice/security.py; the WeChat connectors send it)."""
    return shared_secret("VOICE_CHANNEL_TOKEN", "voice-channel-token")
