"""What the semantic cache embeds for a chat request: the text of the last user turn, or None (not cacheable).

Owns that choice and nothing else: pure, no model, no I/O. Everything before the last turn (system prompt, earlier
turns, tool results) is NOT embedded: the cache must fold `prompt_context(request)` into the exact namespace digest,
so a semantic hit needs the same context verbatim and a similar final question.

Why isolate the last turn (tests/data/semantic_pairs.jsonl, MiniLM; precision / recall at cosine >= 0.95, and
average precision over all thresholds): the last turn alone scores 0.78 / 0.49, AP 0.735. With a shared 35-word
system prompt before both texts, mean pooling lets the common prefix pull every pair together: 0.71 / 0.65,
AP 0.653; with a shared greeting exchange as well, 0.64 / 0.99 (nearly everything hits); the turn first and the
system prompt after, 0.72 / 0.58, AP 0.697; the turn repeated around the system prompt, 0.74 / 0.43, AP 0.679.
And a differing system prompt ("answer in French") must never be bridged by similarity: the exact digest
guarantees it.
"""

from __future__ import annotations

from gateway_grpc.types import ChatRequest, Message, TextPart


def prompt_text(request: ChatRequest) -> str | None:
    """The last user turn's text; None when the request must skip the semantic cache.

    None when: there are no messages; the last message is not from the user (a tool result or an assistant
    prefill: its meaning is the context's); any message carries a non-text part (image, audio, file, unknown),
    which an embedding of text cannot stand for; or the last turn's text is blank.
    """
    if not request.messages or request.messages[-1].role != "user":
        return None
    if not all(is_text_only(message) for message in request.messages):
        return None
    text = message_text(request.messages[-1])
    return text if text.strip() else None


def prompt_context(request: ChatRequest) -> tuple[Message, ...]:
    """The messages `prompt_text` leaves out, which the namespace digest must cover exactly."""
    return request.messages[:-1]


def is_text_only(message: Message) -> bool:
    content = message.content
    return not isinstance(content, tuple) or all(isinstance(part, TextPart) for part in content)


def message_text(message: Message) -> str:
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(part.text for part in content if isinstance(part, TextPart))
