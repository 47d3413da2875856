"""default.containsCode: fenced blocks tagged with the asked language, as the reference recognises them."""

import orjson
import pytest

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import Services
from gateway_grpc.guardrails.checking import compile_check, evaluate_check
from gateway_grpc.guardrails.checks.code import CONTAINS_CODE, FENCE_TAGS, LANGUAGES, fence_tags
from tests.gateway_grpc.guardrails.subjects import response_subject

CASES = [  # parameters, text, verdict, foundFormats, explanation
    ({"format": "Python"}, '```py\nprint("Hello World")\n```', True, ["Python"],
     "Found code block(s) in Python format"),
    ({"format": "Python"}, '```js\nconsole.log("Hello");\n```', False, ["JavaScript"],
     "No code blocks in Python format found"),
    ({"format": "Python"}, "This is just plain text", False, [], "No code blocks found in the text"),
    ({"format": "Python"}, '```py\nprint("Hello")\n```\n```js\nconsole.log("Hi");\n```', True,
     ["Python", "JavaScript"], "Found code block(s) in Python format"),
    ({"format": "Python", "not": True}, "This is just plain text", True, [], "No code blocks found in the text"),
    ({"format": "Python", "not": True}, "```python\nx = 1\n```", False, ["Python"],
     "Found code block(s) in Python format"),
    ({"format": "SQL"}, "```SQL\nSELECT 1;\n```", True, ["SQL"], "Found code block(s) in SQL format"),
    ({"format": "Rust"}, "```rs\nfn main() {}\n```", True, ["Rust"], "Found code block(s) in Rust format"),
    ({"format": "YAML"}, "```yaml\na: 1\n```", True, ["YAML"], "Found code block(s) in YAML format"),  # added tag
    ({"format": "Shell"}, "```bash\nls\n```", True, ["Shell"], "Found code block(s) in Shell format"),  # added tag
    ({"format": "Go"}, "```golang\nfunc main() {}\n```", True, ["Go"], "Found code block(s) in Go format"),
    ({"format": "Python"}, "```py\n```", False, [], "No code blocks found in the text"),  # needs two newlines
    ({"format": "Python"}, "```py\nx = 1", False, [], "No code blocks found in the text"),  # never closed
    ({"format": "Python"}, "```py \nx\n```", False, [], "No code blocks found in the text"),  # space after the tag
    ({"format": "C++"}, "```c++\nint x;\n```", False, [], "No code blocks found in the text"),  # as the reference
    ({"format": "C++"}, "```cpp\nint x;\n```", True, ["C++"], "Found code block(s) in C++ format"),
    ({"format": "Kotlin"}, "```haskell\nmain = 1\n```", False, ["haskell"], "No code blocks in Kotlin format found"),
]


@pytest.mark.parametrize(("params", "text", "verdict", "found", "explanation"), CASES,
                         ids=[f"code-{i}" for i in range(len(CASES))])
async def test_code_contains_code(params, text, verdict, found, explanation):
    result, _ = await evaluate_check(CONTAINS_CODE, params, response_subject(text))
    orjson.dumps(result.data)  # JSON-able, as hook_results need
    assert result.error is None
    assert result.verdict is verdict
    assert result.data == {"explanation": explanation, "searchedFormat": params["format"], "foundFormats": found,
                           "textExcerpt": text}


async def test_code_empty_text_is_an_errored_check():
    result, outcome = await evaluate_check(CONTAINS_CODE, {"format": "Python"}, response_subject(""))
    assert outcome is None
    assert result.error == ("ValueError", "No text content to analyze")


def test_code_every_tag_names_a_manifest_language():
    assert set(FENCE_TAGS.values()) <= set(LANGUAGES)
    assert len(LANGUAGES) == 25


def test_code_fence_scan_is_linear_on_unclosed_openers():
    assert list(fence_tags("x```py\n" * 20000)) == []
    assert list(fence_tags("```a\n1\n```\n```b\n\n```")) == ["a", "b"]


@pytest.mark.parametrize(("params", "name"), [
    ({}, "format"), ({"format": "python"}, "format"), ({"format": "Haskell"}, "format"),
    ({"format": ["SQL"]}, "format"),
    ({"format": "SQL", "language": "SQL"}, "language"),
], ids=["missing", "lower-case", "unknown", "list", "typo"])
def test_code_bad_parameters_name_the_parameter(params, name):
    with pytest.raises(InvalidConfig) as caught:
        compile_check(CONTAINS_CODE, params, "p", Services())
    assert caught.value.violations[0].field == f"p.{name}"
