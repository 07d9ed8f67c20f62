"""Resident ID numbers (GB 11643-1999): check digit, birth date, region.

Layout: 6 region + 8 birth date (YYYYMMDD) + 3 sequence (odd = male) + 1 check.
Check: S = sum(digit_i * W_i) over the first 17, W = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2;
S mod 11 -> 1 0 X 9 8 7 6 5 4 3 2.

Decision on old samples: the domain-fact samples 440524188001010014 (born 1880) and
370101190102039973 (born 1901) have correct check digits (`checksum_ok` is True), but
for a caller registering a request the holder must be plausibly alive, so
`validate_id_number` rejects births more than `max_age` (120) years ago with
"出生日期不对".  Pass max_age=None to check structure only (e.g. historical records).
"""
from __future__ import annotations

import datetime as dt

from textnorm.spoken_numbers import to_digits

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# Province-level codes (GB/T 2260): 11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71 Taiwan, 81-82 HK/Macau.
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82",
})
LENGTH = 18

REASON_LENGTH = "位数不对"
REASON_CHECK = "最后一位校验不对"
REASON_BIRTH = "出生日期不对"
REASON_REGION = "前两位地区不对"
REASON_CHARS = "只能是数字，最后一位可以是叉"


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return CHECK_CHARS[total % 11]


def checksum_ok(number: str) -> bool:
    n = (number or "").upper()
    return len(n) == LENGTH and n[:17].isdigit() and check_char(n[:17]) == n[17]


def birth_date(number: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(number[6:14], "%Y%m%d").date()
    except ValueError:
        return None


def age_on(born: dt.date, today: dt.date) -> int:
    """Full years (周岁) on `today`."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def normalize(text: str) -> str:
    """Spoken or typed ID -> 18 characters of digits/X as far as heard."""
    return to_digits(text).upper()


def validate_id_number(text: str, today: dt.date | None = None,
                       max_age: int | None = 120) -> tuple[bool, str, str]:
    """(ok, normalized, reason_zh).  reason_zh is "" when ok.

    Order of checks: length, characters, region, birth date, check digit, so the reason
    names the first thing a caller can fix.
    """
    today = today or dt.date.today()
    n = normalize(text)
    if len(n) != LENGTH:
        return False, n, REASON_LENGTH
    if not n[:17].isdigit() or not (n[17].isdigit() or n[17] == "X"):
        return False, n, REASON_CHARS
    if n[:2] not in PROVINCE_CODES:
        return False, n, REASON_REGION
    born = birth_date(n)
    if born is None or born > today or (max_age is not None and age_on(born, today) > max_age):
        return False, n, REASON_BIRTH
    if check_char(n[:17]) != n[17]:
        return False, n, REASON_CHECK
    return True, n, ""
