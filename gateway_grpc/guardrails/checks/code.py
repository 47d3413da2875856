"""`default.containsCode` (Portkey plugins/default/containsCode.ts): a fenced code block (```tag, newline, body,
newline, ```) tagged with the asked language. Pure; no I/O.

Beyond the reference: its tag table knows `yml` but not `yaml`, `sh` but not `bash`, `rs` but not `rust`, ...; the
full names below are added (marked), so a block tagged ```yaml counts as YAML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gateway_grpc.guardrails.base import AFTER, CheckFn, CheckType, Outcome, Params, Services, Subject
from gateway_grpc.guardrails.checks.text_shape import excerpt

LANGUAGES = ("SQL", "Python", "TypeScript", "JavaScript", "Java", "C#", "C++", "C", "Ruby", "PHP", "Swift", "Kotlin",
             "Go", "Rust", "Scala", "R", "Perl", "Shell", "HTML", "CSS", "XML", "JSON", "YAML", "Markdown",
             "Dockerfile")
FENCE_TAGS = {  # a lower-cased fence tag -> the manifest's language name (Portkey's table)
    "sql": "SQL", "py": "Python", "python": "Python", "gyp": "Python", "ts": "TypeScript", "tsx": "TypeScript",
    "typescript": "TypeScript", "js": "JavaScript", "jsx": "JavaScript", "javascript": "JavaScript", "java": "Java",
    "cs": "C#", "cpp": "C++", "c": "C", "rb": "Ruby", "php": "PHP", "swift": "Swift", "kt": "Kotlin", "go": "Go",
    "rs": "Rust", "scala": "Scala", "r": "R", "pl": "Perl", "sh": "Shell", "html": "HTML", "css": "CSS", "xml": "XML",
    "json": "JSON", "yml": "YAML", "md": "Markdown", "dockerfile": "Dockerfile",
    # added here: full names and common spellings of the same languages
    "csharp": "C#", "ruby": "Ruby", "kotlin": "Kotlin", "golang": "Go", "rust": "Rust", "perl": "Perl",
    "bash": "Shell", "shell": "Shell", "zsh": "Shell", "yaml": "YAML", "markdown": "Markdown",
}
_OPENER = re.compile(r"```([A-Za-z0-9_]+)\n")  # JavaScript's \w is ASCII


def fence_tags(text: str) -> Iterator[str]:
    """The tags of the reference's `/```(\\w+)\\n[\\s\\S]*?\\n```/g` matches, found with str.find (linear)."""
    pos = 0
    while (opener := _OPENER.search(text, pos)) is not None:
        close = text.find("\n```", opener.end())
        if close < 0:
            return
        yield opener.group(1)
        pos = close + 4


def _compile(params: Params, services: Services) -> CheckFn:
    language = params.string("format", required=True)
    if language not in LANGUAGES:
        raise params.error("format", f"expected one of {', '.join(LANGUAGES)}, got {language!r}")

    def check(subject: Subject) -> Outcome:
        text = subject.text
        if not text:
            raise ValueError("No text content to analyze")
        found = [FENCE_TAGS.get(tag.lower(), tag.lower()) for tag in fence_tags(text)]
        verdict = language in found
        if not found:
            explanation = "No code blocks found in the text"
        elif verdict:
            explanation = f"Found code block(s) in {language} format"
        else:
            explanation = f"No code blocks in {language} format found"
        return Outcome(verdict, {"explanation": explanation, "searchedFormat": language, "foundFormats": found,
                                 "textExcerpt": excerpt(text)})

    return check


CONTAINS_CODE = CheckType("default.containsCode", _compile, frozenset({AFTER}))
