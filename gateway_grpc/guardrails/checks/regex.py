"""`default.regexMatch` and `default.regexReplace` (Portkey plugins/default/regex*.ts): JavaScript regular
expressions, translated once to the `regex` package's syntax where the two differ, run with a per-call timeout so a
hostile pattern or text cannot hang the gateway (a timeout is an errored check). Pure; no I/O.

Translation (JavaScript semantics kept): `\\d \\w \\b \\s` and `.` `^` `$` mean what they mean in JavaScript (ASCII
digits and word characters, JS whitespace and line terminators, `$` only at the very end without `m`), `[^]` and `[]`,
`\\k<name>`, `\\cX`, and identity escapes such as `\\A` (the letter A in JavaScript, an anchor in Python).

Beyond the reference, regexReplace redacts every match of every text of the request (every message and part, every
prompt or input) or response (every choice), whatever the flags: the reference edits only the last message (or one
choice), and without `g` only the first match of each text, which would leave a second secret in place.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import regex

from gateway_grpc.guardrails.base import BEFORE, CheckFn, CheckType, Outcome, Params, Services, Subject
from gateway_grpc.guardrails.checks.text_shape import excerpt
from gateway_grpc.guardrails.texts import map_request_texts, map_response_texts

TIMEOUT_S = 0.1  # per call, across every text of the call
_JS_SPACE = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_WORD = "A-Za-z0-9_"
_LINE_END = "\\n\\r\\u2028\\u2029"
# `(?a:...)`: the `regex` package's scoped ASCII mode, as fast as the plain escape (a lookaround spelling of \b is 5x
# slower); it also keeps case-insensitive matching of \w to ASCII, as JavaScript without `u`.
_OUTSIDE_CLASS = {c: f"(?a:\\{c})" for c in "dDwWbB"} | {"s": f"[{_JS_SPACE}]", "S": f"[^{_JS_SPACE}]"}
_INSIDE_CLASS = {"d": "0-9", "w": _WORD, "s": _JS_SPACE}
_JS_ESCAPES = set("dDwWsSbBnrtvfcxu")  # other escaped letters are identity escapes in JavaScript (non-`u` mode)
_NAMED_REFERENCE = regex.compile(r"<([^>]+)>")
_HEX_ESCAPE = {"x": regex.compile(r"[0-9A-Fa-f]{2}"), "u": regex.compile(r"[0-9A-Fa-f]{4}")}
_BRACED_HEX = regex.compile(r"\{([0-9A-Fa-f]{1,6})\}")
# Portkey's regexReplace accepts `/pattern/flags` (`.` stops at JavaScript's line terminators)
_LITERAL = regex.compile(r"/([^\n\r\u2028\u2029]+?)/([gimsuyd]*)")


# --- JavaScript -> regex translation --------------------------------------------------------------------------------

def _escape(source: str, i: int, in_class: bool, unicode: bool) -> tuple[str, int]:
    """The translation of the escape whose letter is at `i`, and the index after it."""
    c, rest = source[i], source[i + 1:]
    named = _NAMED_REFERENCE.match(rest) if c == "k" and not in_class else None
    if named:
        return f"(?P={named.group(1)})", i + 1 + named.end()
    if c == "c":  # `\cJ` is a control character; a `\c` not followed by a letter is literal
        letter = rest[:1].isascii() and rest[:1].isalpha()
        return (f"\\x{ord(rest[0]) % 32:02x}", i + 2) if letter else ("\\\\c", i + 1)
    if c == "u" and unicode and _BRACED_HEX.match(rest):
        braced = _BRACED_HEX.match(rest)
        return regex.escape(chr(int(braced.group(1), 16))), i + 1 + braced.end()
    table = _INSIDE_CLASS if in_class else _OUTSIDE_CLASS
    if c in table:
        return table[c], i + 1
    hex_ok = c not in _HEX_ESCAPE or _HEX_ESCAPE[c].match(rest) is not None
    if c.isascii() and c.isalpha() and (c not in _JS_ESCAPES or not hex_ok) and not (unicode and c in "pP"):
        return c, i + 1  # an identity escape in JavaScript (`\A` is the letter A)
    return "\\" + c, i + 1


def _class_start(source: str, i: int) -> tuple[str, int, bool]:
    """At a `[` outside a class: the translation, the next index, and whether a class is now open."""
    if source.startswith("[^]", i):
        return "[\\s\\S]", i + 3, False
    if source.startswith("[]", i):
        return "(?!)", i + 2, False
    if source.startswith("[^", i):
        return "[^", i + 2, True
    return "[", i + 1, True


def _plain(c: str, multiline: bool, dotall: bool) -> str:
    if c == ".":
        return "[\\s\\S]" if dotall else f"[^{_LINE_END}]"
    if c == "$":
        return f"(?=[{_LINE_END}]|\\Z)" if multiline else "\\Z"
    if c == "^" and multiline:
        return f"(?:\\A|(?<=[{_LINE_END}]))"
    return c


def translate(source: str, flags: str = "") -> str:
    """A JavaScript pattern (with its flags) as `regex` syntax with the same meaning."""
    multiline, dotall, unicode = "m" in flags, "s" in flags, "u" in flags
    out: list[str] = []
    i, in_class = 0, False
    while i < len(source):
        c = source[i]
        if c == "\\" and i + 1 < len(source):
            piece, i = _escape(source, i + 1, in_class, unicode)
        elif in_class:
            in_class = c != "]"
            piece, i = ("\\[" if c == "[" else c), i + 1
        elif c == "[":
            piece, i, in_class = _class_start(source, i)
        else:
            piece, i = _plain(c, multiline, dotall), i + 1
        out.append(piece)
    return "".join(out)


def compile_js(params: Params, name: str, source: str, flags: str = "") -> regex.Pattern[str]:
    try:
        return regex.compile(translate(source, flags), regex.IGNORECASE if "i" in flags else 0)
    except (regex.error, ValueError, OverflowError) as exc:
        raise params.error(name, f"invalid regular expression: {exc}") from None


# --- regexMatch -----------------------------------------------------------------------------------------------------

def _match_details(match: regex.Match[str] | None) -> dict | None:
    if match is None:
        return None
    return {"matchedText": match.group(0), "index": match.start(), "groups": match.groupdict(),
            "captures": list(match.groups())}


def _compile_match(params: Params, services: Services) -> CheckFn:
    rule = params.string("rule", required=True)
    if not rule:
        raise params.error("rule", "must not be empty")
    pattern = compile_js(params, "rule", rule)  # Portkey: `new RegExp(rule)`, no literal syntax, no flags

    def check(subject: Subject) -> Outcome:
        text = subject.text
        if not text:
            raise ValueError("Missing text to match")
        match = pattern.search(text, timeout=TIMEOUT_S)
        verdict = match is not None
        explanation = f"The regex pattern '{rule}' {'successfully matched' if verdict else 'did not match'} the text."
        return Outcome(verdict, {"regexPattern": rule, "explanation": explanation,
                                 "matchDetails": _match_details(match), "textExcerpt": excerpt(text)})

    return check


# --- regexReplace ---------------------------------------------------------------------------------------------------

def _group_reference(template: str, i: int, groups: int) -> tuple[Callable[[regex.Match[str]], str], int] | None:
    """JavaScript's `$n` / `$nn` at `i` (the `$`): two digits when that group exists, else one."""
    for width in (2, 1):
        digits = template[i + 1:i + 1 + width]
        if len(digits) == width and digits.isdigit() and 1 <= int(digits) <= groups:
            return (lambda m, n=int(digits): m.group(n) or ""), i + 1 + width
    return None


def _dollar(template: str, i: int, pattern: regex.Pattern[str]) -> tuple[Callable[[regex.Match[str]], str], int]:
    """One `$` substitution of JavaScript's String.prototype.replace at `i`; a lone `$` is literal."""
    nxt = template[i + 1:i + 2]
    simple = {"$": lambda m: "$", "&": lambda m: m.group(0), "`": lambda m: m.string[:m.start()],
              "'": lambda m: m.string[m.end():]}
    if nxt in simple:
        return simple[nxt], i + 2
    if nxt == "<" and pattern.groupindex and template.find(">", i + 2) > 0:
        name = template[i + 2:template.find(">", i + 2)]
        return (lambda m: (m.group(name) or "") if name in pattern.groupindex else ""), template.find(">", i + 2) + 1
    return _group_reference(template, i, pattern.groups) or ((lambda m: "$"), i + 1)


def replacement(template: str, pattern: regex.Pattern[str]) -> Callable[[regex.Match[str]], str]:
    """`redactText` as a function of the match, with JavaScript's `$` patterns ($&, $1, $<name>, $$, ...)."""
    if "$" not in template:
        return lambda m: template
    pieces: list[Callable[[regex.Match[str]], str]] = []
    i = 0
    while i < len(template):
        j = template.find("$", i)
        if j < 0:
            j = len(template)
        if j > i:
            pieces.append(lambda m, s=template[i:j]: s)
        if j == len(template):
            break
        piece, i = _dollar(template, j, pattern)
        pieces.append(piece)
    return lambda m: "".join(piece(m) for piece in pieces)


def _split_rule(params: Params, rule: str) -> tuple[str, str]:
    """`rule` as pattern source and flags: `/pattern/flags` (Portkey since #1329) or a bare pattern."""
    if not rule:
        raise params.error("rule", "must not be empty")
    literal = _LITERAL.fullmatch(rule)
    if literal is None:
        return rule, ""
    source, flags = literal.groups()
    if len(set(flags)) != len(flags) or "y" in flags:
        raise params.error("rule", f"unsupported regular expression flags {flags!r} (repeated, or sticky `y`)")
    return source, flags


def _compile_replace(params: Params, services: Services) -> CheckFn:
    rule = params.string("rule", required=True)
    source, flags = _split_rule(params, rule)
    pattern = compile_js(params, "rule", source, flags)
    redact_text = params.string("redactText", "[REDACTED]") or "[REDACTED]"  # Portkey: `redactText || default`
    fail_on_detection = params.boolean("failOnDetection")
    substitute = replacement(redact_text, pattern)

    def check(subject: Subject) -> Outcome:
        deadline, count = time.monotonic() + TIMEOUT_S, 0

        def edit(text: str) -> str:
            nonlocal count
            if not text:
                return text
            new, n = pattern.subn(substitute, text, timeout=max(deadline - time.monotonic(), 0.001))
            count += n
            return new

        if subject.event == BEFORE:
            new_request, new_response = map_request_texts(subject.request, edit), subject.response
        else:
            new_request, new_response = subject.request, map_response_texts(subject.response, edit)
        explanation = (f"Pattern '{rule}' matched and was replaced with '{redact_text}'" if count
                       else f"The regex pattern '{rule}' did not match any text.")
        return Outcome(not (fail_on_detection and count > 0),
                       {"regexPattern": rule, "replacements": count, "explanation": explanation},
                       request=None if new_request is subject.request else new_request,
                       response=None if new_response is subject.response else new_response)

    return check


REGEX_MATCH = CheckType("default.regexMatch", _compile_match)
REGEX_REPLACE = CheckType("default.regexReplace", _compile_replace, negatable=False, transforms=True)
