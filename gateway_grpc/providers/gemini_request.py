"""Neutral ChatRequest -> Gemini `generateContent` body (camelCase JSON). Pure; never drops what it cannot express:
such content raises InvalidRequest naming its request path. Content parts: gemini_parts.

OpenAI request -> Gemini:
- system / developer messages -> `systemInstruction` (text only, in order; `role: "user"` as google-genai sends)
- user / assistant -> `contents[]` with role `user` / `model`; assistant `reasoning_content` -> a `thought: true` part
- assistant `tool_calls` -> `functionCall` parts (`extra_content.google.thought_signature` -> `thoughtSignature`);
  for Gemini 3 models, which refuse (400) a replayed function call turn without a signature, a turn whose calls
  carry none (history from another provider, or a client that dropped `extra_content`) gets Google's documented
  `skip_thought_signature_validator` sentinel on its first call
- tool / function results -> `functionResponse` parts in one user turn, named from the earlier call with that
  `tool_call_id` (else the result's own `name`)
- function `tools` -> one `functionDeclarations` tool; `parameters` go verbatim as `parametersJsonSchema`
- `tool_choice` -> `toolConfig.functionCallingConfig.mode`: auto AUTO (VALIDATED when a tool is `strict`), none
  NONE, required ANY, a function ANY + `allowedFunctionNames`
- `response_format` json_object / json_schema -> `responseMimeType` + `responseJsonSchema`
- sampling params -> `generationConfig` (_GENERATION_PARAMS), `reasoning_effort` -> `thinkingConfig`,
  `service_tier` flex / priority -> `serviceTier` (auto / default: omitted, Gemini's standard tier)

Refused with 400 (no Gemini equivalent): `logit_bias`, `user`, `metadata`, `store: true`,
`parallel_tool_calls: false`, `service_tier: scale`, message `name`s, assistant `refusal`, non-function tools and
tool calls, non-text system / assistant / tool content, unknown message keys (`cache_control` hints are ignored:
Gemini caches implicitly). Unknown top-level keys (`extra`) pass into the body as-is; `safety_settings` becomes
`safetySettings`, `top_k` `generationConfig.topK`, Anthropic-style `thinking` a `thinkingConfig`, and a
`generationConfig` object is merged into ours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from gateway_grpc.errors import InvalidRequest
from gateway_grpc.providers.gemini_parts import check_extra, encode_part, unsupported
from gateway_grpc.types import (
    CHAT_PARAMS,
    ChatRequest,
    FunctionTool,
    Message,
    Part,
    ResponseFormat,
    TextPart,
    ToolCall,
    ToolChoice,
)

# OpenAI param -> generationConfig key (same value).
_GENERATION_PARAMS = {
    "temperature": "temperature", "top_p": "topP", "n": "candidateCount", "seed": "seed",
    "presence_penalty": "presencePenalty", "frequency_penalty": "frequencyPenalty",
    "logprobs": "responseLogprobs", "top_logprobs": "logprobs",
}
# Params accepted only at the value that is Gemini's own behaviour.
_DEFAULT_ONLY = {"parallel_tool_calls": True, "store": False}
_SERVICE_TIERS = {"auto": None, "default": None, "flex": "flex", "priority": "priority"}
_THINKING_LEVELS = {"minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "xhigh": "XHIGH"}
_TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def apply_overrides(request: ChatRequest, overrides: Mapping[str, Any]) -> tuple[ChatRequest, dict[str, Any]]:
    """Portkey's override_params on the neutral request: `model` and OpenAI params replace the caller's; any other
    key is returned to be merged into the body like `extra`."""
    if not overrides:
        return request, {}
    params = {k: v for k, v in overrides.items() if k in CHAT_PARAMS}
    rest = {k: v for k, v in overrides.items() if k != "model" and k not in CHAT_PARAMS}
    model = overrides.get("model", request.model)
    return replace(request, model=str(model), params={**request.params, **params}), rest


# ---- messages ----


def encode_contents(messages: tuple[Message, ...]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(contents, systemInstruction or None)."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id -> function name, from earlier assistant turns
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        _check_message_keys(message, path)
        role = message.role
        if role in ("system", "developer"):
            system += _text_parts(message.content, path, "non-text system content")
        elif role == "user":
            contents.append({"role": "user", "parts": _user_parts(message.content, path)})
        elif role == "assistant":
            contents.append({"role": "model", "parts": _model_parts(message, path, names)})
        elif role in ("tool", "function"):
            _add_result(contents, _function_response(message, path, names))
        else:
            raise unsupported(f"{path}.role", f"role {role!r}")
    return contents, ({"role": "user", "parts": system} if system else None)


def _check_message_keys(message: Message, path: str) -> None:
    if message.name and message.role not in ("tool", "function"):  # a result's name is its function's
        raise unsupported(f"{path}.name", "message names")
    if message.refusal is not None:
        raise unsupported(f"{path}.refusal", "assistant refusals in the conversation")
    if message.reasoning_content is not None and message.role != "assistant":
        raise unsupported(f"{path}.reasoning_content", f"reasoning_content on {message.role} messages")
    if message.tool_calls and message.role != "assistant":
        raise unsupported(f"{path}.tool_calls", f"tool_calls on {message.role} messages")
    check_extra(message.extra, path)


def _text_parts(content: str | tuple[Part, ...] | None, path: str, feature: str) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}]
    parts = []
    for j, part in enumerate(content):
        if type(part) is not TextPart:
            raise unsupported(f"{path}.content[{j}]", feature)
        check_extra(part.extra, f"{path}.content[{j}]")
        parts.append({"text": part.text})
    return parts


def _user_parts(content: str | tuple[Part, ...] | None, path: str) -> list[dict[str, Any]]:
    if not isinstance(content, tuple):
        return [{"text": content or ""}]
    return [encode_part(part, f"{path}.content[{j}]") for j, part in enumerate(content)]


def _model_parts(message: Message, path: str, names: dict[str, str]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if message.reasoning_content is not None:
        parts.append({"text": message.reasoning_content, "thought": True})
    parts += [p for p in _text_parts(message.content, path, "non-text assistant content") if p["text"]]
    for j, call in enumerate(message.tool_calls):
        parts.append(_function_call(call, f"{path}.tool_calls[{j}]"))
        names[call.id] = call.name
    return parts or [{"text": ""}]


def _function_call(call: ToolCall, path: str) -> dict[str, Any]:
    if call.type != "function":
        raise unsupported(f"{path}.type", f"{call.type!r} tool calls")
    try:
        args = orjson.loads(call.arguments) if call.arguments.strip() else {}
    except orjson.JSONDecodeError:
        args = None
    if not isinstance(args, dict):
        raise InvalidRequest.field(f"{path}.function.arguments", "must be a JSON object for google")
    part: dict[str, Any] = {"functionCall": {"name": call.name, "args": args}}
    signature = _thought_signature(call.extra, path)
    if signature:
        part["thoughtSignature"] = signature
    return part


def _thought_signature(extra: Mapping[str, Any], path: str) -> str:
    """Gemini's signature as Google's OpenAI-compatible API carries it: `extra_content.google.thought_signature`."""
    if not extra:
        return ""
    content = extra.get("extra_content")
    google = content.get("google") if isinstance(content, Mapping) else None
    signature = google.get("thought_signature") if isinstance(google, Mapping) else None
    if not (extra.keys() == {"extra_content"} and content.keys() == {"google"} and google.keys() == {
            "thought_signature"} and isinstance(signature, str)):
        raise unsupported(path, f"the tool call keys {sorted(extra)} besides extra_content.google.thought_signature")
    return signature


# Google's sentinel for a function call whose thought signature is unknown (ai.google.dev thought-signatures).
SKIP_SIGNATURE = "skip_thought_signature_validator"
_GEMINI_3 = re.compile(r"(?:^|/)gemini-3")


def _sign_unsigned_calls(contents: list[dict[str, Any]]) -> None:
    """Gemini 3 checks the first function call of each model step for a signature: where none of a turn's calls
    has one, the first gets the sentinel (real signatures are never replaced)."""
    for content in contents:
        calls = [part for part in content["parts"] if "functionCall" in part] if content["role"] == "model" else []
        if calls and not any("thoughtSignature" in part for part in calls):
            calls[0]["thoughtSignature"] = SKIP_SIGNATURE


def _function_response(message: Message, path: str, names: dict[str, str]) -> dict[str, Any]:
    if message.role == "function":
        if not message.name:
            raise InvalidRequest.field(f"{path}.name", "required: the function's name")
        name = message.name
    else:
        name = names.get(message.tool_call_id) or message.name
        if not name:
            raise InvalidRequest.field(f"{path}.tool_call_id",
                                       "no earlier assistant tool call has this id (google needs the function's name)")
    text = "".join(p["text"] for p in _text_parts(message.content, path, "non-text tool results"))
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    # Gemini: "If 'output' and 'error' keys are not specified, then whole 'response' is treated as function output."
    return {"functionResponse": {"name": name, "response": value if isinstance(value, dict) else {"output": text}}}


def _add_result(contents: list[dict[str, Any]], part: dict[str, Any]) -> None:
    """Results of one assistant turn's calls go in one user turn (Gemini wants as many responses as calls)."""
    last = contents[-1] if contents else None
    if last and last["role"] == "user" and all("functionResponse" in p for p in last["parts"]):
        last["parts"].append(part)
    else:
        contents.append({"role": "user", "parts": [part]})


# ---- tools, response format, generation config ----


def encode_tools(request: ChatRequest) -> dict[str, Any]:
    """`tools` and `toolConfig` keys of the body (none when the request has neither)."""
    out: dict[str, Any] = {}
    declarations = []
    for i, tool in enumerate(request.tools):
        if type(tool) is not FunctionTool:
            raise unsupported(f"tools[{i}].type", f"{tool.value.get('type')!r} tools")
        declaration: dict[str, Any] = {"name": tool.name}
        if tool.description:
            declaration["description"] = tool.description
        if tool.parameters is not None:  # Gemini takes standard JSON Schema here, so nothing is rewritten
            declaration["parametersJsonSchema"] = tool.parameters
        declarations.append(declaration)
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
    strict = any(type(t) is FunctionTool and t.strict for t in request.tools)
    config = _calling_config(request.tool_choice, strict)
    if config:
        out["toolConfig"] = {"functionCallingConfig": config}
    return out


def _calling_config(choice: ToolChoice | None, strict: bool) -> dict[str, Any]:
    if choice is None:
        return {"mode": "VALIDATED"} if strict else {}
    if choice.function_name:
        return {"mode": "ANY", "allowedFunctionNames": [choice.function_name]}
    mode = _TOOL_MODES.get(choice.mode) if choice.other is None else None
    if mode is None:
        raise unsupported("tool_choice", f"tool_choice {dict(choice.other or {}) or choice.mode!r}")
    return {"mode": "VALIDATED" if strict and mode == "AUTO" else mode}


def encode_response_format(fmt: ResponseFormat | None) -> dict[str, Any]:
    """generationConfig keys for `response_format`."""
    if fmt is None or fmt.type == "text" and not fmt.extra:
        return {}
    if fmt.extra:
        raise unsupported(f"response_format.{next(iter(fmt.extra))}", "this response_format key")
    if fmt.type == "json_object":
        return {"responseMimeType": "application/json"}
    if fmt.type != "json_schema":
        raise unsupported("response_format.type", f"response_format {fmt.type!r}")
    out: dict[str, Any] = {"responseMimeType": "application/json"}
    schema = fmt.json_schema
    if schema is not None and schema.schema is not None:
        body = dict(schema.schema)
        if schema.description and "description" not in body:  # OpenAI shows it to the model; so does the schema
            body["description"] = schema.description
        out["responseJsonSchema"] = body
    return out


def encode_generation_config(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(generationConfig keys, top-level body keys) for the OpenAI params; 400 for those Gemini lacks."""
    config: dict[str, Any] = {}
    top: dict[str, Any] = {}
    for name, value in params.items():
        if name in _GENERATION_PARAMS:
            config[_GENERATION_PARAMS[name]] = value
        elif name in ("max_tokens", "max_completion_tokens"):
            config["maxOutputTokens"] = params.get("max_completion_tokens", value)
        elif name == "stop":
            config["stopSequences"] = [value] if isinstance(value, str) else list(value)
        elif name == "reasoning_effort":
            config["thinkingConfig"] = _thinking_effort(value)
        elif name == "service_tier":
            tier = _service_tier(value)
            if tier:
                top["serviceTier"] = tier
        elif name in _DEFAULT_ONLY and value == _DEFAULT_ONLY[name]:
            continue
        else:
            raise unsupported(name, f"{name}={value!r}" if name in _DEFAULT_ONLY else name)
    return config, top


def _thinking_effort(value: Any) -> dict[str, Any]:
    if value == "none":
        return {"thinkingBudget": 0}
    level = _THINKING_LEVELS.get(value)
    if level is None:
        raise unsupported("reasoning_effort", f"reasoning_effort {value!r}")
    return {"thinkingLevel": level}


def _service_tier(value: Any) -> str | None:
    if value not in _SERVICE_TIERS:
        raise unsupported("service_tier", f"service_tier {value!r}")
    return _SERVICE_TIERS[value]


def merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Unknown top-level keys into the body, with Portkey's Gemini spellings translated."""
    for key, value in extra.items():
        if key in ("safety_settings", "safetySettings"):
            body["safetySettings"] = value
        elif key == "top_k":
            body.setdefault("generationConfig", {})["topK"] = value
        elif key == "thinking" and isinstance(value, Mapping):
            thinking = {"includeThoughts": value.get("type") == "enabled"}
            if value.get("budget_tokens") is not None:
                thinking["thinkingBudget"] = value["budget_tokens"]
            body.setdefault("generationConfig", {})["thinkingConfig"] = thinking
        elif key in ("generationConfig", "generation_config") and isinstance(value, Mapping):
            body["generationConfig"] = {**body.get("generationConfig", {}), **value}
        else:
            body[key] = value


def encode_body(request: ChatRequest, overrides: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(model, generateContent body): overrides applied first, then every request field translated."""
    request, rest = apply_overrides(request, overrides)
    contents, system = encode_contents(request.messages)
    if _GEMINI_3.search(request.model):
        _sign_unsigned_calls(contents)
    body: dict[str, Any] = {"contents": contents}
    if system is not None:
        body["systemInstruction"] = system
    body.update(encode_tools(request))
    config, top = encode_generation_config(request.params)
    config.update(encode_response_format(request.response_format))
    if config:
        body["generationConfig"] = config
    body.update(top)
    merge_extra(body, request.extra)
    merge_extra(body, rest)
    return request.model, body
