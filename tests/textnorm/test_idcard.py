import datetime as dt

import pytest

from textnorm.idcard import (REASON_BIRTH, REASON_CHECK, REASON_LENGTH, REASON_REGION, check_char,
                             checksum_ok, validate_id_number)

TODAY = dt.date(2025, 6, 1)


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014", "370101190102039973"])
def test_domain_samples_have_correct_check_digit(number):
    assert checksum_ok(number)
    ok, norm, reason = validate_id_number(number, today=TODAY, max_age=None)
    assert (ok, norm, reason) == (True, number, "")


def test_check_character_table():
    # S mod 11 == 2 -> X (the 1949 sample ends in X)
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"


@pytest.mark.parametrize("number", ["440524188001010014", "370101190102039973"])
def test_births_over_120_years_ago_are_rejected_for_living_callers(number):
    assert validate_id_number(number, today=TODAY) == (False, number, REASON_BIRTH)


def test_spoken_id_with_telephone_digits_and_x():
    ok, norm, _ = validate_id_number("幺幺零 幺零五 幺九四九 幺二三幺 洞洞两叉", today=TODAY)
    assert ok and norm == "11010519491231002X"


def test_lowercase_x_and_fullwidth_digits():
    ok, norm, _ = validate_id_number("１１０１０５１９４９１２３１００２x", today=TODAY)
    assert ok and norm.endswith("X")


@pytest.mark.parametrize("text,reason", [
    ("1101051949123100", REASON_LENGTH),
    ("11010519491231002X1", REASON_LENGTH),
    ("110105194912310021", REASON_CHECK),
    ("110105194902300023", REASON_BIRTH),   # 30 February
    ("110105203001010010", REASON_BIRTH),   # future
    ("990105194912310021", REASON_REGION),
])
def test_specific_reasons(text, reason):
    ok, _, got = validate_id_number(text, today=TODAY)
    assert not ok and got == reason


def test_every_single_digit_error_is_caught_by_the_check_digit():
    good = "11010519491231002X"
    for pos in range(14, 17):  # sequence digits: birth stays valid
        for d in "0123456789":
            if d == good[pos]:
                continue
            bad = good[:pos] + d + good[pos + 1:]
            assert not validate_id_number(bad, today=TODAY)[0], bad
