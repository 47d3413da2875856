"""The fake Bedrock upstream, proven with boto3 (reference/provider-oracles.md §4): converse, converse_stream,
invoke_model and list_foundation_models parse; SigV4 is checked; errors arrive as botocore's typed exceptions; and
every canned answer and frame passes botocore's service model (tests/oracles_bedrock)."""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from tests import oracles_bedrock as aws
from tests.fakes import bedrock_upstream as fake_module
from tests.fakes.bedrock_upstream import FakeBedrock, parse_directives

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
HELLO = [{"role": "user", "content": [{"text": "hello big world"}]}]
TOOLS = {"tools": [{"toolSpec": {"name": n, "inputSchema": {"json": {"type": "object"}}}}
                   for n in ("lookup", "search", "fetch")]}
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def server():
    with FakeBedrock() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.clear()
    return server


def client(fake, service="bedrock-runtime", secret="secret", key="AKIDEXAMPLE"):
    return boto3.client(service, region_name="us-east-1", endpoint_url=fake.base_url, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=NO_RETRIES)


# --- canned answers and frames against the service model ------------------------------------------------------------

BODIES = [
    {"messages": HELLO},
    {"messages": HELLO, "toolConfig": TOOLS},
    {"messages": HELLO, "inferenceConfig": {"maxTokens": 2}},
    {"messages": [*HELLO, {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}]},
                  {"role": "user", "content": [{"toolResult": {"toolUseId": "t", "content": [{"text": "42"}]}}]}]},
]
DIRECTIVES = ["m", "m+tools+reasoning", "m+parallel-tools+chunks-4+cached-7", "m+stop-guardrail_intervened",
              "m+stream-error-throttling", "m+no-metadata"]


@pytest.mark.parametrize("model", DIRECTIVES)
@pytest.mark.parametrize("body", BODIES, ids=["text", "tools", "max-tokens", "tool-result"])
def test_fake_answers_and_frames_pass_the_service_model(body, model):
    d = parse_directives(model)
    reply = fake_module.plan_reply(body, d)
    aws.check_converse_response(fake_module.converse_answer(reply))
    events = aws.stream_events(b"".join(fake_module.stream_frames(reply, d)))
    assert events[0][1] == "messageStart"
    if d.stream_error and reply.text:
        assert events[-1][:2] == ("exception", "throttlingException")
    elif "no-metadata" not in d.flags:
        assert [name for _, name, _ in events[-2:]] == ["messageStop", "metadata"]


def test_fake_directives_parse_and_refuse_unknown_ones():
    assert parse_directives("m+tools+chunks-3+error-throttling+stop-max_tokens") == fake_module.Directives(
        "m", frozenset({"tools"}), chunks=3, stop="max_tokens", error="throttling")
    for bad in ("m+error-teapot", "m+stream-error-nope", "m+sparkle"):
        with pytest.raises(ValueError, match="unknown directive"):
            parse_directives(bad)


# --- boto3 against the fake -----------------------------------------------------------------------------------------


def test_boto3_converse_parses_text_usage_and_sends_the_encoded_model_id(fake):
    answer = client(fake).converse(modelId=MODEL, messages=HELLO, system=[{"text": "be brief"}],
                                   inferenceConfig={"maxTokens": 3})
    assert answer["output"]["message"]["content"] == [{"text": "Echo: hello big"}]
    assert answer["stopReason"] == "max_tokens" and answer["usage"] == {"inputTokens": 5, "outputTokens": 3,
                                                                         "totalTokens": 8}
    (seen,) = fake.requests
    assert seen.raw_path == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    assert seen.auth_errors == [] and seen.oracle_errors == []
    assert seen.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")


def test_boto3_converse_tool_use_and_reasoning(fake):
    answer = client(fake).converse(modelId=f"{MODEL}+parallel-tools+reasoning", messages=HELLO, toolConfig=TOOLS)
    content = answer["output"]["message"]["content"]
    assert content[0]["reasoningContent"]["reasoningText"]["text"] == "The user said hello big world."
    assert [c["toolUse"]["name"] for c in content[1:]] == ["lookup", "search", "fetch"]
    assert all(c["toolUse"]["input"] == {"echo": "hello big world"} for c in content[1:])
    assert answer["stopReason"] == "tool_use"


def test_boto3_converse_stream_decodes_every_event(fake):
    events = list(client(fake).converse_stream(modelId=f"{MODEL}+tools+chunks-3+cached-4", messages=HELLO,
                                               toolConfig=TOOLS)["stream"])
    assert [next(iter(e)) for e in events] == ["messageStart", "contentBlockStart", "contentBlockDelta",
                                               "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]
    arguments = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events[2:4])
    assert json.loads(arguments) == {"echo": "hello big world"}
    assert events[-1]["metadata"]["usage"]["cacheReadInputTokens"] == 4
    texts = client(fake).converse_stream(modelId=f"{MODEL}+chunks-4", messages=HELLO)["stream"]
    pieces = [e["contentBlockDelta"]["delta"]["text"] for e in texts if "contentBlockDelta" in e]
    assert len(pieces) == 4 and "".join(pieces) == "Echo: hello big world"


def test_boto3_converse_stream_exception_frame_raises(fake):
    stream = client(fake).converse_stream(modelId=f"{MODEL}+stream-error-throttling", messages=HELLO)["stream"]
    received = []
    with pytest.raises(EventStreamError) as caught:
        for event in stream:
            received.append(next(iter(event)))
    assert received == ["messageStart", "contentBlockDelta"]
    assert caught.value.response["Error"]["Code"] == "throttlingException"


@pytest.mark.parametrize("name", list(fake_module.ERRORS))
def test_boto3_sees_aws_errors_with_their_codes_and_statuses(fake, name):
    exception, status, message = fake_module.ERRORS[name]
    with pytest.raises(ClientError) as caught:
        client(fake).converse(modelId=f"{MODEL}+error-{name}", messages=HELLO)
    error = caught.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"]) == (exception, message)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.mark.parametrize(
    ("key", "secret", "problem"),
    [("AKIDEXAMPLE", "wrong", "signature does not match"), ("AKIDOTHER", "secret", "unknown access key 'AKIDOTHER'")],
)
def test_fake_checks_the_sigv4_signature(fake, key, secret, problem):
    with pytest.raises(ClientError) as caught:
        client(fake, secret=secret, key=key).converse(modelId=MODEL, messages=HELLO)
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert fake.requests[-1].auth_errors == [problem]


def test_fake_checks_the_scope_region():
    with FakeBedrock(region="eu-west-1") as other, pytest.raises(ClientError, match="scope region 'us-east-1'"):
        client(other).converse(modelId=MODEL, messages=HELLO)


def test_fake_strict_oracle_refuses_what_boto3_lets_through(fake):
    bmp = [{"role": "user", "content": [{"image": {"format": "bmp", "source": {"bytes": b"BM"}}}]}]
    with pytest.raises(ClientError, match=r"oracle: \$\.messages\[0\]\.content\[0\]\.image\.format: 'bmp'"):
        client(fake).converse(modelId=MODEL, messages=bmp)
    with FakeBedrock(strict=False) as lenient:
        assert client(lenient).converse(modelId=MODEL, messages=bmp)["stopReason"] == "end_turn"


@pytest.mark.parametrize(
    ("model", "body", "check"),
    [
        ("amazon.titan-embed-text-v2:0", {"inputText": "hi there", "dimensions": 512},
         lambda r: len(r["embedding"]) == 512 and r["inputTextTokenCount"] == 2 and r["embeddingsByType"]["float"]),
        ("amazon.titan-embed-text-v1", {"inputText": "hi"}, lambda r: len(r["embedding"]) == 1536),
        ("cohere.embed-english-v3", {"texts": ["a", "b"], "input_type": "search_query"},
         lambda r: len(r["embeddings"]) == 2 and r["response_type"] == "embeddings_floats"),
        ("cohere.embed-v4:0", {"texts": ["a"], "input_type": "clustering", "output_dimension": 256},
         lambda r: [len(v) for v in r["embeddings"]] == [256]),
    ],
)
def test_boto3_invoke_model_embeddings(fake, model, body, check):
    answer = client(fake).invoke_model(modelId=model, body=json.dumps(body), contentType="application/json",
                                       accept="application/json")
    assert check(json.loads(answer["body"].read()))
    assert fake.requests[-1].raw_path == f"/model/{model.replace(':', '%3A')}/invoke"


@pytest.mark.parametrize(
    ("model", "body", "error"),
    [
        ("amazon.titan-embed-text-v2:0", {"inputText": "hi", "dimensions": 300}, "dimensions: 300 not in"),
        ("amazon.titan-embed-text-v2:0", {"texts": ["hi"]}, "texts: unknown key"),
        ("cohere.embed-english-v3", {"texts": ["a"]}, "input_type: None not in"),
        (MODEL, {"inputText": "hi"}, "is not an embedding model"),
    ],
)
def test_fake_invoke_model_oracle_refuses_bad_bodies(fake, model, body, error):
    with pytest.raises(ClientError, match=error) as caught:
        client(fake).invoke_model(modelId=model, body=json.dumps(body))
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_boto3_list_foundation_models_on_the_control_plane_client(fake):
    summaries = client(fake, service="bedrock").list_foundation_models()["modelSummaries"]
    assert [s["modelId"] for s in summaries] == list(fake_module.MODELS)
    assert fake.requests[-1].auth_errors == []


def test_fake_refuses_unsigned_and_unknown_operations(fake):
    import httpx2
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    assert httpx2.post(f"{fake.base_url}/model/m/converse", content=b"{}").status_code == 403
    for method, path in (("POST", "/model/m/chat"), ("GET", "/model/m/converse")):
        signed = AWSRequest(method=method, url=f"{fake.base_url}{path}", data=b"{}" if method == "POST" else b"")
        SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "bedrock", "us-east-1").add_auth(signed)
        answer = httpx2.request(method, signed.url, headers=dict(signed.headers.items()), content=signed.body)
        assert (answer.status_code, answer.headers["x-amzn-errortype"].split(":")[0]) == (
            404, "UnknownOperationException")
