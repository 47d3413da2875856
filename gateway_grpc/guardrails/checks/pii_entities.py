"""The PII detectors of `default.pii`: one table (DETECTORS) of entity types, each a precompiled pattern, a
validator and where to look; `find(text)` returns the typed, non-overlapping spans. Pure: no I/O, no logging, and
nothing here keeps or reports the matched values.

Speed (every request's hot path): one pass collects the text's numeric runs, and the digit-bearing detectors search
only inside runs with enough digits; the others run only when a cheap pre-check passes ("@", ":", key prefixes).
Every pattern opens with a literal or a single character class, so `re` skips ahead with its prefix scan; the
word-boundary look-behind comes after that first character for the same reason. Linear in the text: ~30 µs for
2 kB of prose, ~0.1-0.45 µs a character for number-dense text (logs, tables), ~30 µs per phone number parsed.

Rules: phone numbers are candidates validated by `phonenumbers.parse` + `is_valid_number` (never its matcher over
the text); without `+` they are read in the US (DEFAULT_REGION), and those with a trunk `0` and 9-12 digits also in
NATIONAL_REGIONS; bare digit runs are never phones (order numbers). Cards: issuer prefix and length, then Luhn.
IBAN: country length (SWIFT registry via python-stdnum), then mod-97 and BBAN format. SSN: AAA-GG-SSSS always,
`AAA GG SSSS` and 9 bare digits only within 40 characters after "SSN" / "social security". IPv4: dotted quads not
inside longer dotted numbers and not after a version word ("version 1.2.3.4"); IPv6 via `ipaddress`. Secrets:
well-known prefixes; random-bodied keys must mix digits, upper and lower case ("sk-this-is-prose" is not a key).

Measured on tests/data/pii_samples.jsonl (318 texts; entity-level, exact span match; test_pii_entities.py asserts
these minus 0.03). The misses are known: bare `4155550132`, 7-digit `555-0132`, the UK drama range `+44 7700 900123`
(invalid to phonenumbers); the false hits: a version `4.7.2.1` with no version word, a serial that passes Luhn.
    entity          precision  recall
    EMAIL_ADDRESS   1.000      1.000    (33)
    PHONE_NUMBER    1.000      0.927    (41)
    CREDIT_CARD     0.966      1.000    (28)
    IBAN_CODE       1.000      1.000    (27)
    US_SSN          1.000      1.000    (24)
    IP_ADDRESS      0.971      1.000    (33)
    SECRET          1.000      1.000    (29)
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

import phonenumbers
from stdnum import iban, luhn

DEFAULT_REGION = "US"
NATIONAL_REGIONS = ("GB", "DE", "FR", "IN", "AU")  # tried for `0…` numbers that are not valid in the US
Accept = Callable[[str, re.Match[str]], "tuple[int, int] | None"]


class Span(NamedTuple):
    start: int
    end: int
    entity: str


Run = tuple[int, int, int]  # start, end, digits of a stretch of digits and separators (`+44 (0)20 7946 0958`)


def _word_char(text: str, index: int) -> bool:
    """An ASCII letter, digit or underscore at `index` (CJK text puts entities right against its letters)."""
    return 0 <= index < len(text) and text[index].isascii() and (text[index].isalnum() or text[index] == "_")


# --- secrets: one pattern per well-known key format, each opening with its literal prefix (a fast scan) -----------

PEM_RE = re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----"
                    r"(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY-----|(?:\s*[A-Za-z0-9+/=]{16,})*)")
AWS_KEY_RE = re.compile(r"A(?:KIA|SIA)[A-Z0-9]{16}(?![\w/+])", re.ASCII)
AWS_SECRET_RE = re.compile(r"(?i)secret_?access_?key[\"']?\s*[=:]\s*[\"']?([A-Za-z0-9/+]{40})(?![\w/+])", re.ASCII)
OPENAI_RE = re.compile(r"sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}")  # OpenAI and Anthropic
STRIPE_RE = re.compile(r"k_(?:live|test)_[A-Za-z0-9]{16,}")  # after `s` (secret) or `r` (restricted)
GITHUB_RE = re.compile(r"g(?:h[pousr]_[A-Za-z0-9]{36,}|ithub_pat_[A-Za-z0-9_]{22,})")
HUGGINGFACE_RE = re.compile(r"hf_[A-Za-z0-9]{30,}")
GITLAB_RE = re.compile(r"glpat-[A-Za-z0-9_\-]{20,}")
SLACK_RE = re.compile(r"xox[abprs]-[A-Za-z0-9\-]{10,}")
GOOGLE_RE = re.compile(r"AIza[A-Za-z0-9_\-]{35}(?![\w\-])", re.ASCII)
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")


def _token(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """A key not glued to a preceding word (`task-sk-…`)."""
    start = match.start()
    return None if _word_char(text, start - 1) or text[start - 1:start] == "-" else match.span()


def _mixed(body: str) -> bool:
    """Random keys mix digits, upper and lower case; prose such as `sk-this-is-not-a-key-2024` does not."""
    return any(c.isdigit() for c in body) and any(c.isupper() for c in body) and any(c.islower() for c in body)


def _random_token(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    return _token(text, match) if _mixed(match.group()) else None


def _stripe(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    start = match.start() - 1
    if start < 0 or text[start] not in "sr" or _word_char(text, start - 1) or not _mixed(match.group()):
        return None
    return start, match.end()


def _aws_secret(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    return match.span(1)


# --- email: found from its "@", the local part read backwards --------------------------------------------------

EMAIL_DOMAIN = re.compile(r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
                          r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])")
LOCAL_CHARS = frozenset(string.ascii_letters + string.digits + ".%+-_")


def _latin_letter(char: str) -> bool:
    """`müller@…` keeps its ü; CJK text glued to an address (`メールはjane@…`) does not join it."""
    return char.isalpha() and ord(char) < 0x250


def _email(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    start = match.start()
    while start > 0 and (text[start - 1] in LOCAL_CHARS or _latin_letter(text[start - 1])):
        start -= 1
    local = text[start:match.start()]
    if not local or local[0] == "." or local[-1] == "." or ".." in local:
        return None
    return start, match.end()


# --- IBAN ------------------------------------------------------------------------------------------------------

IBAN_RE = re.compile(r"[A-Za-z](?<!\w[A-Za-z])[A-Za-z][0-9]{2}(?: ?[A-Za-z0-9]){11,30}", re.ASCII)


def _iban_lengths() -> dict[str, int]:
    """Country code -> IBAN length, from python-stdnum's copy of the SWIFT registry."""
    lines = resources.files("stdnum").joinpath("iban.dat").read_text(encoding="utf-8").splitlines()
    found = (re.match(r'([A-Z]{2}) .*bban="([^"]+)"', line) for line in lines)
    return {m[1]: 4 + sum(int(n) for n in re.findall(r"\d+", m[2])) for m in found if m}


IBAN_LENGTHS = _iban_lengths()


def _iban(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """The candidate cut to its country's length (a printed IBAN is often followed by more capitals)."""
    start, length = match.start(), IBAN_LENGTHS.get(match.group()[:2].upper())
    if length is None:
        return None
    end, seen = start, 0
    while seen < length and end < match.end():
        seen += text[end] != " "
        end += 1
    if seen < length or _word_char(text, end) or not iban.is_valid(text[start:end]):
        return None
    return start, end


# --- credit cards ----------------------------------------------------------------------------------------------

CARD_RE = re.compile(r"[2-6](?<![\w\-][0-9])(?:[0-9]{3}([ \-]?)[0-9]{4}\1[0-9]{4}\1[0-9]{1,7}"
                     r"|[0-9]{3}([ \-]?)[0-9]{6}\2[0-9]{4,5})(?!\w|-[0-9])", re.ASCII)
CARD_NUMBER = re.compile(  # issuer prefixes and lengths: Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay
    r"4(?:[0-9]{12}|[0-9]{15}|[0-9]{18})|(?:5[1-5][0-9]{2}|2(?:22[1-9]|2[3-9][0-9]|[3-6][0-9]{2}|7[01][0-9]|720))"
    r"[0-9]{12}|3[47][0-9]{13}|(?:6011|64[4-9][0-9]|65[0-9]{2}|35(?:2[89]|[3-8][0-9])|62[0-9]{2})[0-9]{12,15}"
    r"|3(?:0[0-5]|[689][0-9])[0-9]{11,16}")


def _card(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    digits = match.group().replace(" ", "").replace("-", "")
    return match.span() if CARD_NUMBER.fullmatch(digits) and luhn.is_valid(digits) else None


# --- US SSN ----------------------------------------------------------------------------------------------------

SSN_RE = re.compile(r"[0-9](?<![\w\-.][0-9])[0-9]{2}([\- ]?)[0-9]{2}\1[0-9]{4}(?!\w|[\-.][0-9])", re.ASCII)
SSN_CONTEXT = re.compile(r"(?i)\b(?:ssn|social security|ss#)")


def _ssn(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    digits = match.group().replace("-", "").replace(" ", "")
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return None
    if match.group(1) != "-" and not SSN_CONTEXT.search(text, max(0, match.start() - 40), match.start()):
        return None
    return match.span()


# --- IP addresses ----------------------------------------------------------------------------------------------

IPV4_RE = re.compile(r"[0-9](?<![\w.][0-9])[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?!\w|\.[0-9]|-[A-Za-z])",
                     re.ASCII)
VERSION_WORD = re.compile(r"(?i)\b(?:v|version|ver\.?|release|build|firmware|driver|rev\.?|revision|patch|section"
                          r"|chapter|step|oid)\s*[:=#]?\s*\Z")
IPV6_SEED = re.compile(r":[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*")  # from the first `:x:` to the end of the stretch
HEX_COLON = frozenset("0123456789abcdefABCDEF:")


def _ipv4(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    if VERSION_WORD.search(text, max(0, match.start() - 16), match.start()):
        return None
    try:
        ipaddress.IPv4Address(match.group())  # octets <= 255, no leading zeros
    except ValueError:
        return None
    return match.span()


def _ipv6(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """The seed (from the first `:x:` to the end of its hex-and-colon stretch) grown back over the hex digits before
    it, then parsed; a stretch longer than any address (a colon hex dump) is rejected whole."""
    start = match.start()
    while start > 0 and text[start - 1] in HEX_COLON and match.start() - start < 5:
        start -= 1
    candidate = text[start:match.end()].rstrip(".")
    if candidate.endswith(":") and not candidate.endswith("::"):
        candidate = candidate[:-1]
    end = start + len(candidate)
    if len(candidate) > 45 or _word_char(text, start - 1) or _word_char(text, end) or not _ipv6_shaped(candidate):
        return None
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return None
    return start, end


def _ipv6_shaped(candidate: str) -> bool:
    """Cheap necessary conditions before `ipaddress`: a digit (`abc::def` in code is not an address), and `::` or
    eight groups (six before an embedded IPv4), so a time such as `10:30:45` stops here."""
    colons = candidate.count(":")
    return any(map(str.isdigit, candidate)) and ("::" in candidate or colons == 7 or colons == 6 and "." in candidate)


# --- phone numbers ---------------------------------------------------------------------------------------------

PHONE_RE = re.compile(  # +CC …; (415) 555-0132; 1-800-555-0199; 415.555.0132; (020) 7946 0958; 020 7946 0958
    r"[+(0-9](?<![\w+.\-/][+(0-9])(?:(?<=\+)[0-9]{1,3}(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,5})){1,7}"
    r"|(?<=\()[2-9][0-9]{2}\)[ .\-]?[0-9]{3}[ .\-][0-9]{4}"
    r"|(?<=\()0[0-9]{1,4}\)[ .\-]?[0-9]{2,8}(?:[ .\-][0-9]{2,8}){0,3}"
    r"|(?<=1)[ .\-][2-9][0-9]{2}[ .\-][0-9]{3}[ .\-][0-9]{4}"
    r"|(?<=[2-9])[0-9]{2}[ .\-][0-9]{3}[ .\-][0-9]{4}"
    r"|(?<=0)[0-9]{1,4}(?:[ .\-][0-9]{2,8}){1,4})(?!\w)", re.ASCII)
PHONE_GROUP = re.compile(r"[0-9]+")


def _phone(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    start, candidate = match.start(), match.group()
    if _valid_phone(candidate):
        return match.span()
    if candidate[0] == "+":  # a real number followed by more digits ("+44 20 7946 0958 2024"): drop trailing groups
        for cut in [group.end() for group in PHONE_GROUP.finditer(candidate)][-2:-5:-1]:
            if _valid_phone(candidate[:cut]):
                return start, start + cut
    return None


def _valid_phone(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    if candidate[0] == "+":
        return 7 <= digits <= 15 and _parses(candidate, None)
    if candidate.lstrip("(")[0] != "0":
        return _parses(candidate, DEFAULT_REGION)
    return 9 <= digits <= 12 and any(_parses(candidate, region) for region in NATIONAL_REGIONS)


def _parses(candidate: str, region: str | None) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(candidate, region))
    except phonenumbers.NumberParseException:
        return False


# --- where to look: the stretches of the text a detector searches (none: it is skipped) -------------------------

# 4+ digits (shorter runs hold no entity), or the check digits after an IBAN's country code (`GB82 WEST…`)
NUMERIC_RUN = re.compile(r"[+(0-9](?:(?:[ .()\-]*[0-9]){3,}|(?<=[A-Za-z]{2}[0-9])(?<!\w[A-Za-z]{2}[0-9])[0-9])")
AWS_SECRET_HINTS = ("ccess_key", "CCESS_KEY", "ccessKey")
Regions = Callable[[str, list[Run]], list[tuple[int, int]]]
MERGE_RUNS = 4  # more qualifying runs than this: one region from the first to the last (fewer regex calls)


def _runs(text: str) -> list[Run]:
    return [(m.start(), m.end(), sum(map(str.isdigit, m.group()))) for m in NUMERIC_RUN.finditer(text)]


def _in_runs(min_digits: int) -> Regions:
    """The numeric runs holding `min_digits` digits (a match lies inside one such run), plus 2 characters for the
    end look-aheads."""
    return lambda text, runs: _merged([(start, end + 2) for start, end, digits in runs if digits >= min_digits])


def _after_country_code(text: str, runs: list[Run]) -> list[tuple[int, int]]:
    """IBANs: numeric runs right after two letters (`GB82 WEST…`, `DE89370400…`), with room for 34 characters."""
    return _merged([(start - 2, start + 48) for start, _, _ in runs
                    if start >= 2 and text[start - 2:start].isalpha() and text[start - 2:start].isascii()])


def _merged(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return regions if len(regions) <= MERGE_RUNS else [(regions[0][0], regions[-1][1])]


def _when(gate: Callable[[str], bool]) -> Regions:
    return lambda text, runs: [(0, len(text))] if gate(text) else []


def _anywhere(text: str, runs: list[Run]) -> list[tuple[int, int]]:
    return [(0, len(text))]


# --- the table -------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Detector:
    """`pattern` finds candidates in the `regions` of a text and `accept(text, match)` returns the validated span
    (None to reject; the search then resumes one character later)."""

    entity: str
    pattern: re.Pattern[str]
    accept: Accept
    regions: Regions
    rescan: bool = True  # after a rejected candidate, search again from its second character (False: from its end)


DETECTORS = (  # in priority order: where spans overlap, the earlier entity keeps its span
    Detector("SECRET", PEM_RE, _token, _anywhere),
    Detector("SECRET", AWS_KEY_RE, _token, _anywhere),
    Detector("SECRET", AWS_SECRET_RE, _aws_secret, _when(lambda text: any(k in text for k in AWS_SECRET_HINTS))),
    Detector("SECRET", OPENAI_RE, _random_token, _anywhere),
    Detector("SECRET", STRIPE_RE, _stripe, _anywhere),
    Detector("SECRET", GITHUB_RE, _random_token, _anywhere),
    Detector("SECRET", HUGGINGFACE_RE, _random_token, _anywhere),
    Detector("SECRET", GITLAB_RE, _token, _anywhere),
    Detector("SECRET", SLACK_RE, _token, _anywhere),
    Detector("SECRET", GOOGLE_RE, _token, _anywhere),
    Detector("SECRET", JWT_RE, _token, _anywhere),
    Detector("EMAIL_ADDRESS", EMAIL_DOMAIN, _email, _when(lambda text: "@" in text)),
    Detector("IBAN_CODE", IBAN_RE, _iban, _after_country_code),
    Detector("CREDIT_CARD", CARD_RE, _card, _in_runs(13)),
    Detector("US_SSN", SSN_RE, _ssn, _in_runs(9)),
    Detector("IP_ADDRESS", IPV6_SEED, _ipv6, _when(lambda text: ":" in text), rescan=False),  # `::ffff:192.0.2.1`
    Detector("IP_ADDRESS", IPV4_RE, _ipv4, _in_runs(4)),
    Detector("PHONE_NUMBER", PHONE_RE, _phone, _in_runs(7)),
)
ENTITIES = tuple(dict.fromkeys(detector.entity for detector in DETECTORS))


def find(text: str) -> list[Span]:
    """Every entity in `text`, sorted by start; overlapping candidates are resolved by DETECTORS order."""
    taken: list[Span] = []
    runs = _runs(text)
    for detector in DETECTORS:
        for pos, endpos in detector.regions(text, runs):
            for start, end in _search(detector, text, pos, endpos):
                if not any(start < other.end and other.start < end for other in taken):
                    taken.append(Span(start, end, detector.entity))
    taken.sort()
    return taken


def _search(detector: Detector, text: str, pos: int, endpos: int) -> Iterator[tuple[int, int]]:
    match = detector.pattern.search(text, pos, endpos)
    while match is not None:
        span = detector.accept(text, match)
        if span is not None:
            yield span
            resume = max(span[1], match.start() + 1)
        else:
            resume = match.start() + 1 if detector.rescan else match.end()
        match = detector.pattern.search(text, resume, endpos)
