"""Personal data: masking for logs and screens, encryption at rest.

Masking conventions (domain facts): ID 6+4 visible -> 110105********002X; phone 3+4 -> 138****5678;
names keep the surname -> 张*, 欧阳** .
"""
from __future__ import annotations

import logging
import os
import re
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

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


def mask_text(text: str) -> str:
    """Mask every ID or mobile number found inside free text."""
    if not text:
        return text
    text = ID_RE.sub(lambda m: m.group(1) + "*" * 8 + m.group(3) + m.group(4), text)
    return PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


class MaskingFilter(logging.Filter):
    """Attach to handlers so that no ID or phone number reaches a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - malformed record: leave it
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def install_log_masking() -> None:
    root = logging.getLogger()
    for handler in root.handlers or [logging.StreamHandler()]:
        handler.addFilter(MaskingFilter())
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
        root.handlers[0].addFilter(MaskingFilter())


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = os.environ.get("GOVDESK_SECRET_KEY")
    if not key:
        from common.settings import DATA_DIR

        path = Path(os.environ.get("GOVDESK_SECRET_KEY_FILE", DATA_DIR / "secret.key"))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(Fernet.generate_key())
            path.chmod(0o600)
        key = path.read_text().strip()
    return Fernet(key.encode() if isinstance(key, str) else key)


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
    import hashlib
    import hmac

    digest = hmac.new(derive_key("caller-id"), phone.encode(), hashlib.sha256).hexdigest()
    return f"tel-{digest[:20]}"


def derive_key(purpose: str) -> bytes:
    """A separate 32-byte key per purpose (token signing, phone lookup...), from the one secret."""
    import hashlib
    import hmac

    return hmac.new(_fernet()._signing_key, b"govdesk:" + purpose.encode(), hashlib.sha256).digest()
