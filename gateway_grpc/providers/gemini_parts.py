"""Neutral content parts -> Gemini `Part` JSON (text, inlineData, fileData). Pure; a part Gemini cannot take raises
InvalidRequest naming its request path.

- image / audio / file bytes and data: URLs -> `inlineData {mimeType, data (base64)}`
- http(s) and gs:// image or file URLs, file ids -> `fileData {mimeType, fileUri}`: Gemini fetches public and signed
  URLs itself. The media type comes from the part, else the URL's or filename's extension; an image of unknown
  extension is sent as image/jpeg (Gemini decodes the bytes it fetches); other files without one are refused.
- image `detail` low / high -> `mediaResolution.level`; a file's `filename` only picks its media type (Gemini's
  inline data has no name); `cache_control` hints are ignored (Gemini caches implicitly); other part keys -> 400.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from gateway_grpc.errors import InvalidRequest
from gateway_grpc.types import AudioPart, FilePart, ImagePart, Part, TextPart

PROVIDER = "google"
_IGNORED_KEYS = frozenset({"cache_control"})
_DETAIL = {"low": "MEDIA_RESOLUTION_LOW", "high": "MEDIA_RESOLUTION_HIGH", "auto": None, "": None}
_URL_SCHEMES = ("http", "https", "gs")
# File extensions Gemini accepts -> media type (a fixed table: the mimetypes module varies by host).
_MEDIA_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".heic": "image/heic",
    ".heif": "image/heif", ".gif": "image/gif", ".pdf": "application/pdf", ".txt": "text/plain",
    ".md": "text/markdown", ".csv": "text/csv", ".html": "text/html", ".xml": "text/xml", ".json": "application/json",
    ".wav": "audio/wav", ".mp3": "audio/mp3", ".aiff": "audio/aiff", ".aac": "audio/aac", ".ogg": "audio/ogg",
    ".flac": "audio/flac", ".mp4": "video/mp4", ".mov": "video/mov", ".webm": "video/webm", ".mpeg": "video/mpeg",
}
_AUDIO_TYPES = {"mp3": "audio/mp3", "wav": "audio/wav", "aiff": "audio/aiff", "aac": "audio/aac", "ogg": "audio/ogg",
                "flac": "audio/flac", "pcm16": "audio/pcm"}


def unsupported(path: str, feature: str) -> InvalidRequest:
    return InvalidRequest.field(path, f"{PROVIDER} does not support {feature}")


def check_extra(extra: Mapping[str, Any], path: str) -> None:
    """400 for the first key Gemini has no place for."""
    for key in extra:
        if key not in _IGNORED_KEYS:
            raise unsupported(f"{path}.{key}", f"the key {key!r}")


def encode_part(part: Part, path: str) -> dict[str, Any]:
    if type(part) is TextPart:
        out: dict[str, Any] = {"text": part.text}
    elif type(part) is ImagePart:
        out = _image(part, path)
    elif type(part) is AudioPart:
        media = _AUDIO_TYPES.get(part.format.lower())
        if media is None:
            raise unsupported(f"{path}.input_audio.format", f"audio format {part.format!r}")
        out = _inline(media, part.data)
    elif type(part) is FilePart:
        out = _file(part, path)
    else:
        raise unsupported(path, f"content parts of type {part.value.get('type')!r}")
    check_extra(part.extra, path)
    return out


def _inline(media_type: str, data: bytes) -> dict[str, Any]:
    return {"inlineData": {"mimeType": media_type, "data": base64.b64encode(data).decode()}}


def _data_url(url: str, path: str) -> dict[str, Any]:
    header, comma, payload = url[5:].partition(",")
    media_type, _, params = header.partition(";")
    if not comma or not media_type:
        raise InvalidRequest.field(path, "a data: URL needs a media type and data")
    if params.split(";")[-1] == "base64":
        return {"inlineData": {"mimeType": media_type, "data": payload}}
    return _inline(media_type, unquote_to_bytes(payload))


def _remote(url: str, media_type: str, path: str, feature: str) -> dict[str, Any]:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in _URL_SCHEMES:
        raise unsupported(path, f"{feature} with the URL scheme {scheme!r}")
    return {"fileData": {"mimeType": media_type, "fileUri": url}}


def _guess(name: str) -> str:
    return _MEDIA_TYPES.get(posixpath.splitext(urlsplit(name).path)[1].lower(), "")


def _image(part: ImagePart, path: str) -> dict[str, Any]:
    if part.url.startswith("data:"):
        out = _data_url(part.url, f"{path}.image_url.url")
    elif part.url:
        media_type = part.media_type or _guess(part.url) or "image/jpeg"
        out = _remote(part.url, media_type, f"{path}.image_url.url", "image URLs")
    elif part.media_type:
        out = _inline(part.media_type, part.data)
    else:
        raise InvalidRequest.field(f"{path}.image_url", "google needs the media type of image bytes")
    level = _DETAIL.get(part.detail, "")
    if level == "":
        raise unsupported(f"{path}.image_url.detail", f"image detail {part.detail!r}")
    if level:
        out["mediaResolution"] = {"level": level}
    return out


def _file(part: FilePart, path: str) -> dict[str, Any]:
    if part.url.startswith("data:"):
        return _data_url(part.url, f"{path}.file.file_data")
    media_type = part.media_type or _guess(part.filename) or _guess(part.url or part.file_id)
    if not media_type:
        raise InvalidRequest.field(f"{path}.file", "google needs the file's media type (a data: URL or a filename "
                                                   "with a known extension)")
    if part.file_id:
        return {"fileData": {"mimeType": media_type, "fileUri": part.file_id}}
    if part.url:
        return _remote(part.url, media_type, f"{path}.file.file_data", "file URLs")
    return _inline(media_type, part.data)
