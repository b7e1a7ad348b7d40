"""Personal information (PIPL) masked out of free text and identifiers, a batch at a time.

Pure functions over a batch's records (as a page's decoder gives them) or over pandas Series:
nothing here logs, and nothing keeps a value in clear. The records' form is the one a night
uses — a regular expression over short texts costs less in one Python loop than through
pandas' string methods, which loop alike and box every value besides. A
keyed hash (HMAC-SHA256) keeps a phone number countable (repeat callers) without keeping it:
without the key no one can confirm a guessed number against it, as one could with a plain hash
of an 11-digit space.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

import pandas as pd

PHONE_MASK = "1**********"
ID_MASK = "******************"
HASH_PREFIX = "h:"
HASH_HEX = 16  # 64 bits: no two of the city's numbers collide in practice

_D = "[0-9０-９]"  # full-width digits too: citizens type both
# a resident ID: 17 digits and a check character (digit or X), not inside a longer number
RESIDENT_ID = rf"(?<![0-9０-９])(?:{_D}{{17}}[0-9０-９XxＸｘ])(?![0-9０-９A-Za-z])"
# a mobile number: 11 digits from 1, maybe grouped 3-4-4 by a space or hyphen
PHONE = rf"(?<![0-9０-９])[1１]{_D}{{2}}[- ]?{_D}{{4}}[- ]?{_D}{{4}}(?![0-9０-９])"


_RESIDENT_ID, _PHONE = re.compile(RESIDENT_ID), re.compile(PHONE)
_DIGIT = re.compile(r"[0-9０-９]")


def redact_text(text):
    """One text with every resident ID and mobile number masked (IDs first: an ID holds
    11-digit runs); anything else as it is."""
    if not isinstance(text, str) or not _DIGIT.search(text):
        return text
    return _PHONE.sub(PHONE_MASK, _RESIDENT_ID.sub(ID_MASK, text))


def phone_hasher(key: str):
    """`number -> h:<16 hex>`, HMAC-SHA256 keyed by `key` over the number's digits only (so
    `138 1234 5678` and `13812345678` count as one caller); None for none."""
    if not key:
        raise ValueError("a phone hash needs a key")
    secret, seen = key.encode(), {}

    def one(value):
        if value is None or (isinstance(value, float) and value != value):
            return None
        text = str(value)
        if text.isascii() and text.isdigit():  # as the phone usually comes
            number = text
        else:
            number = "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdigit())
        if not number:
            return None
        if number not in seen:  # once per distinct number: callers repeat
            mac = hmac.new(secret, number.encode(), hashlib.sha256).hexdigest()
            seen[number] = HASH_PREFIX + mac[:HASH_HEX]
        return seen[number]

    return one


def mask_records(
    records: list[dict], key: str, drop: Iterable[str], phone: str, free_text: Iterable[str]
) -> list[dict]:
    """Each record with the fields in `drop` gone to None, `phone` keyed-hashed and the
    numbers in `free_text` masked; new dicts (what was received is not kept either way)."""
    hashed, drop, free_text = phone_hasher(key), tuple(drop), tuple(free_text)
    out = []
    for record in records:
        masked = dict(record)
        for name in drop:
            if name in masked:
                masked[name] = None
        if phone in masked:
            masked[phone] = hashed(masked[phone])
        for name in free_text:
            if name in masked:
                masked[name] = redact_text(masked[name])
        out.append(masked)
    return out


def redact_numbers(values: pd.Series) -> pd.Series:
    """Free text with every resident ID and mobile number replaced by a fixed mask (IDs
    first: an ID holds 11-digit runs). Missing values stay missing."""
    text = values.astype(object).where(values.map(lambda v: isinstance(v, str)), None)
    present = text.notna()
    if not present.any():
        return text
    out = text.copy()
    masked = text[present].astype(str)
    masked = masked.str.replace(RESIDENT_ID, ID_MASK, regex=True)
    out[present] = masked.str.replace(PHONE, PHONE_MASK, regex=True)
    return out


def hash_phone(values: pd.Series, key: str) -> pd.Series:
    """`h:` + the first 16 hex digits of HMAC-SHA256(key, number), the number's digits only
    (so `138 1234 5678` and `13812345678` count as one caller); None for none."""
    if not key:
        raise ValueError("a phone hash needs a key")
    secret = key.encode()
    digits = values.astype(object).map(
        lambda v: "".join(str(unicodedata.digit(ch)) for ch in str(v) if ch.isdigit()) or None,
        na_action="ignore",
    )

    def one(number: str) -> str:
        mac = hmac.new(secret, number.encode(), hashlib.sha256).hexdigest()
        return HASH_PREFIX + mac[:HASH_HEX]

    present = digits.notna()
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    if present.any():
        uniques = pd.unique(digits[present].to_numpy(dtype=object))
        hashed = {u: one(u) for u in uniques}  # once per distinct number
        out[present] = digits[present].map(hashed)
    return out


def drop(values: pd.Series) -> pd.Series:
    """A field nobody may keep (a caller's name): None throughout."""
    return pd.Series([None] * len(values), index=values.index, dtype=object)
