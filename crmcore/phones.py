"""Phone numbers: one canonical spelling per number, so lookups are exact.

Canonical forms: a mainland mobile is its 11 digits (``13800138000``), a
mainland landline is the national form with its trunk zero and no separators
(``02155551234``), anything else is E.164 (``+14155552671``). Common mainland
spellings take a fast path; everything else goes through ``phonenumbers``
with default region CN.
"""

from __future__ import annotations

import re

from crmcore.errors import ValidationError

_FULL_WIDTH = {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９＋（）－"}
_FULL_WIDTH[0x3000] = 0x20  # ideographic space
_SEPARATORS = re.compile(r"[\s\-().]")
_MAINLAND_MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9]\d{9})")


def normalise_phone(raw: str, *, field: str = "phones") -> str:
    """Return the canonical spelling of ``raw`` or raise ValidationError."""
    text = str(raw)
    if not text.isascii():  # every character _FULL_WIDTH maps is outside ASCII
        text = text.translate(_FULL_WIDTH)
    text = text.strip()
    # spaces and dashes are nearly all the separators people type; when
    # removing only those gives a mobile number, removing every separator
    # gives the same digits, so the regex substitution can wait
    match = _MAINLAND_MOBILE.fullmatch(text.replace(" ", "").replace("-", ""))
    if match is None:
        match = _MAINLAND_MOBILE.fullmatch(_SEPARATORS.sub("", text))
    if match:
        return match.group(1)
    return _slow_path(text, field)


def _slow_path(text: str, field: str) -> str:
    import phonenumbers  # heavy import, only for unusual spellings

    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise ValidationError.field(field, f"{text!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError.field(field, f"{text!r} is not a valid phone number")
    if number.country_code == 86:
        national = str(number.national_number)
        is_mobile = phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
        return national if is_mobile else "0" + national
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalise_phone(raw: str) -> str | None:
    """The canonical spelling, or None when ``raw`` is not a phone number."""
    try:
        return normalise_phone(raw)
    except ValidationError:
        return None


def mask_phone(phone: str) -> str:
    """``13800138000`` → ``138****8000``: the middle digits hidden."""
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1)
    keep_tail = 4
    keep_head = 3 if not phone.startswith("+") else len(phone) - keep_tail - 4
    return phone[:keep_head] + "*" * (len(phone) - keep_head - keep_tail) + phone[-keep_tail:]
