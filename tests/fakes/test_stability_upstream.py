"""The fake Stability upstream proved without an SDK (Stability ships none for Python): the Python examples of
Stability's API reference ("Generate" > Stable Image Core / Ultra / SD3: `requests.post(..., headers={"authorization":
"Bearer sk-MYAPIKEY", "accept": "image/*"}, files={"none": ''}, data={...})`) are sent as documented and must succeed;
answers and errors are validated by strict models of the reference's documented schemas; a table of requests the
reference rules out must each be a 400/401/404 naming what is wrong."""

from __future__ import annotations

import base64
from typing import Literal

import pytest
import requests
from pydantic import BaseModel, ConfigDict, Field

from tests.fakes.stability_upstream import IMAGES, SEED, FakeStability, field_errors


class GenerateImageResponse(BaseModel):
    """The documented 200 answer to `accept: application/json`."""

    model_config = ConfigDict(extra="forbid", strict=True)
    image: str
    finish_reason: Literal["SUCCESS", "CONTENT_FILTERED"]
    seed: int


class ErrorResponse(BaseModel):
    """The documented error body of every status (400, 403, 413, 422, 429, 500)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    id: str
    name: str
    errors: list[str] = Field(min_length=1)


@pytest.fixture(scope="module")
def fake():
    with FakeStability() as server:
        yield server


def post(fake, endpoint: str, data: dict | None = None, *, accept: str = "image/*", key: str = "sk-MYAPIKEY",
         files: dict | None = None, **kwargs) -> requests.Response:
    headers = {"authorization": f"Bearer {key}", "accept": accept} if key else {"accept": accept}
    return requests.post(f"{fake.origin}/v2beta/stable-image/generate/{endpoint}", headers=headers,
                         files={"none": ""} if files is None else files, data=data, timeout=10, **kwargs)


# The reference's examples, as documented (prompt and output_format of each endpoint's Python sample).
DOCUMENTED = [
    ("core", {"prompt": "Lighthouse on a cliff overlooking the ocean", "output_format": "webp"}, "webp"),
    ("ultra", {"prompt": "Lighthouse on a cliff overlooking the ocean", "output_format": "webp"}, "webp"),
    ("sd3", {"prompt": "Lighthouse on a cliff overlooking the ocean", "output_format": "jpeg"}, "jpeg"),
    ("sd3", {"prompt": "a fox", "model": "sd3.5-large", "mode": "text-to-image", "aspect_ratio": "16:9",
             "seed": "7", "negative_prompt": "blurry", "style_preset": "photographic", "cfg_scale": "4.5"}, "png"),
]


@pytest.mark.parametrize(("endpoint", "data", "kind"), DOCUMENTED)
def test_stability_fake_answers_the_documented_examples_with_image_bytes(fake, endpoint, data, kind):
    response = post(fake, endpoint, data)
    assert response.status_code == 200, response.text
    assert response.content == IMAGES[kind] and response.headers["content-type"] == f"image/{kind}"
    assert response.headers["finish-reason"] == "SUCCESS" and response.headers["seed"].isdigit()


@pytest.mark.parametrize(("endpoint", "data", "kind"), DOCUMENTED)
def test_stability_fake_json_answers_match_the_documented_schema(fake, endpoint, data, kind):
    response = post(fake, endpoint, data, accept="application/json")
    answer = GenerateImageResponse.model_validate(response.json())
    assert response.headers["content-type"] == f"application/json; type=image/{kind}"
    assert base64.b64decode(answer.image) == IMAGES[kind]
    assert answer.seed == (int(data["seed"]) if "seed" in data else SEED)


def test_stability_fake_takes_a_multipart_body_without_the_none_part(fake):
    response = post(fake, "core", {"prompt": "x"}, files={}, accept="application/json")
    assert response.status_code == 400  # requests sends form-urlencoded without a file part: not multipart
    fields = [("prompt", (None, "a fox")), ("aspect_ratio", (None, "9:16"))]
    response = requests.post(f"{fake.origin}/v2beta/stable-image/generate/core", files=fields, timeout=10,
                             headers={"authorization": "Bearer k", "accept": "application/json"})
    assert response.status_code == 200 and fake.requests[-1].json == {"prompt": "a fox", "aspect_ratio": "9:16"}


REFUSED = [
    ("core", {"prompt": "x", "width": "512"}, {}, 400, "width: unknown field"),
    ("core", {"prompt": "x", "aspect_ratio": "4:3"}, {}, 400, "aspect_ratio: must be one of"),
    ("core", {"prompt": "x", "seed": "-1"}, {}, 400, "seed: must be between"),
    ("core", {"prompt": "x", "seed": "many"}, {}, 400, "seed: must be an integer"),
    ("core", {"prompt": "x", "style_preset": "vaporwave"}, {}, 400, "style_preset: must be one of"),
    ("core", {"prompt": "x", "model": "sd3.5-large"}, {}, 400, "model: unknown field"),
    ("core", {"prompt": "x", "cfg_scale": "5"}, {}, 400, "cfg_scale: unknown field"),
    ("core", {"prompt": ""}, {}, 400, "prompt: must be 1 to 10000 characters"),
    ("core", {"negative_prompt": "x"}, {}, 400, "prompt: is required"),
    ("core", {"prompt": ["a", "b"]}, {}, 400, "prompt: given more than once"),
    ("sd3", {"prompt": "x", "output_format": "webp"}, {}, 400, "output_format: must be one of: png, jpeg"),
    ("sd3", {"prompt": "x", "model": "dall-e-3"}, {}, 400, "model: must be one of"),
    ("sd3", {"prompt": "x", "cfg_scale": "11"}, {}, 400, "cfg_scale: must be between"),
    ("core", {"prompt": "x"}, {"accept": "text/html"}, 400, "accept: must be image/* or application/json"),
    ("core", {"prompt": "x"}, {"key": ""}, 401, "authorization: missing"),
    ("core", {"prompt": "x"}, {"key": "sk-bad"}, 401, "authorization: invalid API key"),
    ("stable-image-core", {"prompt": "x"}, {}, 404, "generate/stable-image-core: no such endpoint"),
]


@pytest.mark.parametrize(("endpoint", "data", "options", "status", "error"), REFUSED)
def test_stability_fake_refuses_what_the_reference_rules_out(fake, endpoint, data, options, status, error):
    response = post(fake, endpoint, data, **options)
    assert response.status_code == status
    body = ErrorResponse.model_validate(response.json())
    assert any(line.startswith(error) for line in body.errors), body.errors


def test_stability_fake_refuses_json_bodies_and_stray_files(fake):
    response = requests.post(f"{fake.origin}/v2beta/stable-image/generate/core", json={"prompt": "x"}, timeout=10,
                             headers={"authorization": "Bearer k", "accept": "application/json"})
    assert response.status_code == 400
    assert ErrorResponse.model_validate(response.json()).errors == ["content-type: must be multipart/form-data"]
    response = post(fake, "core", {"prompt": "x"}, files={"image": ("a.png", IMAGES["png"])})
    assert "image: unknown file field" in ErrorResponse.model_validate(response.json()).errors


def test_stability_fake_scripted_errors_use_stabilitys_format(fake):
    limited = post(fake, "core", {"prompt": "a fox+error-429+retry-after-2"}, accept="application/json")
    body = ErrorResponse.model_validate(limited.json())
    assert (limited.status_code, limited.headers["retry-after"], body.name) == (429, "2", "rate_limit_exceeded")
    moderated = post(fake, "ultra", {"prompt": "a fox+error-403"}, accept="application/json")
    assert ErrorResponse.model_validate(moderated.json()).name == "content_moderation"
    filtered = post(fake, "core", {"prompt": "a fox+filtered"}, accept="application/json")
    assert GenerateImageResponse.model_validate(filtered.json()).finish_reason == "CONTENT_FILTERED"
    broken = post(fake, "core", {"prompt": "a fox+bad-json"}, accept="application/json")
    with pytest.raises(ValueError):
        broken.json()


@pytest.mark.parametrize("endpoint", ["core", "ultra", "sd3"])
def test_stability_fake_field_table_accepts_every_documented_text_to_image_field(endpoint):
    fields = [("prompt", "x"), ("negative_prompt", ""), ("aspect_ratio", "21:9"), ("seed", "4294967294"),
              ("style_preset", "pixel-art"), ("output_format", "png")]
    assert field_errors(endpoint, fields, [("none", b"")]) == []
    assert field_errors(endpoint, fields, [("none", b"data")]) == ["none: unknown file field"]
