"""The long tail of OpenAI-compatible hosts, as data: one row per host (Portkey's slug, default base URL, `Dialect`).
No code here and no branching on names anywhere: a host's quirks are its row (CONVENTIONS §3).

Every row: `Authorization: Bearer <key>` when the caller gave a key (local servers need none, and get none when no
key is given); role `developer` sent as `system` (Portkey's shared base, contract §7) unless the row says otherwise;
unknown parameters passed through. A custom host (`x-portkey-custom-host`) replaces the base URL, e.g. a
self-hosted Hugging Face TGI at `http://tgi:8080/v1`.

Sources (base URLs and quirks), checked against Portkey-AI/gateway `src/providers/<slug>/api.ts` and
`index.ts` (P) and the hosts' own documentation (D):
  groq          P api.ts; D console.groq.com/docs/openai: logprobs, logit_bias, top_logprobs, messages[].name
                -> 400; n must be 1. Media: D console.groq.com/docs/speech-to-text (/audio/transcriptions,
                /audio/translations) and /docs/text-to-speech (/audio/speech); no image generation
  deepseek      P api.ts (https://api.deepseek.com), P chatComplete.ts: max_completion_tokens sent as max_tokens
  together-ai   P api.ts (https://api.together.xyz + /v1); D docs.together.ai/docs/inference/openai-compatibility
                (image generation, text-to-speech) and its Whisper pages (/v1/audio/transcriptions): every medium
  fireworks-ai  P api.ts
  openrouter    P api.ts (https://openrouter.ai/api + /v1)
  perplexity-ai P api.ts (no /v1); D docs.perplexity.ai sonar/openai-compatibility and P chatComplete.ts: no tool
                calling, no logprobs / logit_bias, one choice, max_tokens
  x-ai          P api.ts; D docs.x.ai/docs/guides/image-generations (/v1/images/generations): images only
  cerebras      P api.ts, P index.ts; D inference-docs.cerebras.ai/resources/openai: frequency_penalty, logit_bias,
                presence_penalty, parallel_tool_calls, service_tier -> 400
  sambanova     P api.ts (https://api.sambanova.ai + /v1); P index.ts excludes logit_bias and logprobs; one choice
  deepinfra     P api.ts
  nebius        P api.ts (AI Studio host; the newer Token Factory host is https://api.tokenfactory.nebius.com/v1)
  hyperbolic    P api.ts (https://api.hyperbolic.xyz + /v1)
  lambda        D docs.lambda.ai/public-cloud/lambda-inference-api (api.lambda.ai; P still has api.lambdalabs.com);
                Lambda announced the Inference API's shutdown: the row stays for configs that name it
  novita-ai     D novita.ai docs / LiteLLM (https://api.novita.ai/v3/openai; the SDK appends /chat/completions)
  siliconflow   P api.ts (China host; the international one is https://api.siliconflow.com/v1)
  moonshot      P api.ts (China host; the international one is https://api.moonshot.ai/v1)
  zhipu         P api.ts (P sends the bare key; Zhipu's docs and the OpenAI SDK send Bearer, as we do)
  dashscope     P api.ts (international compatible-mode host)
  huggingface   P constants.ts HF_ROUTER_BASE_URL; D huggingface.co/changelog/inference-providers-openai-compatible
                (https://router.huggingface.co/v1); P's api-inference.huggingface.co/models/{m} path is retired
  ollama        D docs.ollama.com/api/openai-compatibility: max_tokens (no max_completion_tokens), no logit_bias, no n
  vllm          D docs.vllm.ai OpenAI-compatible server (default port 8000; /v1/audio/transcriptions and
                /translations for ASR models); not a Portkey slug
  lm-studio     D lmstudio.ai/docs/api/openai-api (default port 1234); not a Portkey slug

Media (images, speech, transcription) is served only where the row's `media` says so (documented above); other rows
answer 400 "X does not support ..." (providers/call.py). OpenAI's legacy text completions (`/completions`) likewise
only where `completions` is set: hosts documenting `/v1/completions` (together-ai, fireworks-ai, openrouter, x-ai,
cerebras, deepinfra, nebius, hyperbolic, lambda, novita-ai, ollama, vllm, lm-studio; D each host's API reference).
DeepSeek's FIM completions live under another root (https://api.deepseek.com/beta): a custom host reaches them.
Embeddings-only hosts (`EMBEDDING_HOSTS`, chat -> 400):
  jina          P jina/api.ts, embed.ts; D jina-ai/meta-prompt v0.txt (POST https://api.jina.ai/v1/embeddings:
                model, input, embedding_type (default float), task, dimensions, normalized, late_chunking);
                `task` and `dimensions` pass through; errors are FastAPI's `{"detail": ...}`
  voyage        P voyage/api.ts, embed.ts; D docs.voyageai.com/reference/embeddings-api and the Fern-generated
                voyage-ai/typescript-sdk EmbedRequest (input, model, input_type, truncation, encoding_format
                base64|null, output_dimension, output_dtype): `dimensions` -> `output_dimension`; no `user`;
                `encoding_format: "float"` left out (floats are the default); usage counts only total_tokens
Ollama's embeddings go through its row (D docs.ollama.com/api/openai-compatibility: /v1/embeddings takes model,
input, encoding_format, dimensions).
"""

from __future__ import annotations

from gateway_grpc.providers.openai import OpenAI
from gateway_grpc.providers.openai_dialect import ALL_MEDIA, IMAGES, SPEECH, TRANSCRIPTION, Dialect

_MAX_TOKENS = (("max_completion_tokens", "max_tokens"),)
_NO_LOGPROBS = frozenset({"logprobs", "top_logprobs", "logit_bias"})
_PLAIN = Dialect()  # OpenAI's body with `developer` sent as `system`
_TEXT = Dialect(completions=True)  # the same, and OpenAI's legacy /completions too

OPENAI_HOSTS: tuple[OpenAI, ...] = (
    OpenAI("groq", "https://api.groq.com/openai/v1",
           Dialect(rejects=_NO_LOGPROBS, single_choice=True, message_rejects=frozenset({"name"}),
                   media=frozenset({SPEECH, TRANSCRIPTION}))),
    OpenAI("deepseek", "https://api.deepseek.com", Dialect(renames=_MAX_TOKENS)),
    OpenAI("together-ai", "https://api.together.xyz/v1", Dialect(media=ALL_MEDIA, completions=True)),
    OpenAI("fireworks-ai", "https://api.fireworks.ai/inference/v1", _TEXT),
    OpenAI("openrouter", "https://openrouter.ai/api/v1", _TEXT),
    OpenAI("perplexity-ai", "https://api.perplexity.ai",
           Dialect(rejects=_NO_LOGPROBS | {"tools", "tool_choice", "parallel_tool_calls"}, single_choice=True,
                   renames=_MAX_TOKENS)),
    OpenAI("x-ai", "https://api.x.ai/v1", Dialect(media=frozenset({IMAGES}), completions=True)),
    OpenAI("cerebras", "https://api.cerebras.ai/v1",
           Dialect(rejects=frozenset({"frequency_penalty", "presence_penalty", "logit_bias", "parallel_tool_calls",
                                      "service_tier"}), completions=True)),
    OpenAI("sambanova", "https://api.sambanova.ai/v1", Dialect(rejects=_NO_LOGPROBS, single_choice=True)),
    OpenAI("deepinfra", "https://api.deepinfra.com/v1/openai", _TEXT),
    OpenAI("nebius", "https://api.studio.nebius.ai/v1", _TEXT),
    OpenAI("hyperbolic", "https://api.hyperbolic.xyz/v1", _TEXT),
    OpenAI("lambda", "https://api.lambda.ai/v1", _TEXT),
    OpenAI("novita-ai", "https://api.novita.ai/v3/openai", _TEXT),
    OpenAI("siliconflow", "https://api.siliconflow.cn/v1", _PLAIN),
    OpenAI("moonshot", "https://api.moonshot.cn/v1", _PLAIN),
    OpenAI("zhipu", "https://open.bigmodel.cn/api/paas/v4", _PLAIN),
    OpenAI("dashscope", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", _PLAIN),
    OpenAI("huggingface", "https://router.huggingface.co/v1", _PLAIN),
    OpenAI("ollama", "http://localhost:11434/v1",
           Dialect(rejects=frozenset({"logit_bias"}), single_choice=True, renames=_MAX_TOKENS, completions=True)),
    OpenAI("vllm", "http://localhost:8000/v1", Dialect(media=frozenset({TRANSCRIPTION}), completions=True)),
    OpenAI("lm-studio", "http://localhost:1234/v1", _TEXT),
)

_NO_USER = frozenset({"user"})  # neither documents one: a 400, not a silent drop
EMBEDDING_HOSTS: tuple[OpenAI, ...] = (
    OpenAI("jina", "https://api.jina.ai/v1", Dialect(chat=False, rejects=_NO_USER, float_encoding=False)),
    OpenAI("voyage", "https://api.voyageai.com/v1",
           Dialect(chat=False, rejects=_NO_USER, float_encoding=False,
                   embedding_renames=(("dimensions", "output_dimension"),))),
)
