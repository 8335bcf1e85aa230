from __future__ import annotations

import pytest
from django.test import override_settings

from crm.phones import (
    InvalidPhoneNumber,
    format_phone_international,
    is_international,
    normalize_phone,
    try_normalize_phone,
)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        # Romania, every way people write Maria's number.
        ("+40 721 234 567", None, "+40721234567"),
        ("+40721234567", None, "+40721234567"),
        ("0040721234567", None, "+40721234567"),
        ("0040 721 234 567", None, "+40721234567"),
        ("0721 234 567", None, "+40721234567"),
        ("0721-234-567", None, "+40721234567"),
        ("0721-234-567", "RO", "+40721234567"),
        ("(0721) 234.567", "ro", "+40721234567"),
        ("  +40 (21) 300 12 34  ", None, "+40213001234"),
        # Russia: trunk prefix 8, and numbers with their country code.
        ("8 (912) 345-67-89", "RU", "+79123456789"),
        ("+7 912 345-67-89", None, "+79123456789"),
        ("8 423 222-33-44", "RU", "+74232223344"),
        ("007 495 123 45 67", "RU", "+74951234567"),
        # Germany.
        ("030 1234567", "DE", "+49301234567"),
        ("+49 30 1234567", None, "+49301234567"),
        ("0049 89 12345678", "DE", "+498912345678"),
        # United States.
        ("(201) 555-0123", "US", "+12015550123"),
        ("201.555.0123", "US", "+12015550123"),
        ("+1 201 555 0123", "RO", "+12015550123"),
        # An international number does not care about the region it is read in.
        ("+7 912 345 67 89", "DE", "+79123456789"),
    ],
)
def test_it_normalizes_common_formats_to_e164(raw, region, e164):
    assert normalize_phone(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("", None),
        ("   ", None),
        ("12", "RO"),
        ("abc", None),
        ("0721 234", "RO"),  # too short
        ("0721 234 567 890 123", "RO"),  # too long for Romania
        ("+999 123 456 789", None),  # no such country code
        ("8 (912) 345-67-89", "RO"),  # a Russian local number is not Romanian
        ("1" * 41, None),
        ("+40 721 234 567", "XX"),  # unknown region
        ("+40 721 234 567", "ZZ"),
    ],
)
def test_it_refuses_invalid_numbers_with_a_clear_error(raw, region):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw, region)
    assert try_normalize_phone(raw, region) is None


def test_it_raises_a_value_error_subclass_for_non_strings():
    with pytest.raises(ValueError):
        normalize_phone(None)  # type: ignore[arg-type]
    assert issubclass(InvalidPhoneNumber, ValueError)


@override_settings(CHATPORTAL_DEFAULT_REGION="RU")
def test_it_reads_local_numbers_in_the_site_region_by_default():
    assert normalize_phone("8 912 345-67-89") == "+79123456789"
    assert try_normalize_phone("0721 234 567") is None


def test_it_formats_numbers_for_people():
    assert format_phone_international("+40721234567") == "+40 721 234 567"
    assert format_phone_international("anonymous") == "anonymous"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+40 721", True), ("0040721", True), ("0721 234 567", False), ("", False)],
)
def test_it_knows_whether_a_number_carries_its_country_code(raw, expected):
    assert is_international(raw) is expected
