"""The official `google-genai` SDK against ringway at `/genai`, and the mock upstream.

google-genai 3.x calls `{base_url}/{api_version}/models/{model}:{method}` (`v1` by default);
ringway serves both `v1` and `v1beta` there and sends Gemini requests up to `/v1beta/...` with its
own key. A bare model name means the gemini provider, `openai/<model>` is translated to chat
completions and back. The reverse direction (the `openai` SDK asking for `gemini/<model>`) is
covered here too. Every test checks what the SDK parsed and what the mock actually received.
"""

from __future__ import annotations

import asyncio
import base64

import openai
import pytest
from conftest import (
    CLIENT_KEY,
    GEMINI_KEY,
    OPENAI_KEY,
    header_values,
    recorded_body,
)
from google import genai
from google.genai import errors, types

MODEL = "gemini-2.0-flash"
EMBED_MODEL = "text-embedding-004"
# The thought signature the mock attaches to its function calls (base64 of b"mock-signature").
MOCK_SIGNATURE = base64.b64decode("bW9jay1zaWduYXR1cmU=")

WEATHER_FN = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather for a city",
    parameters=types.Schema(
        type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]
    ),
)
# The tool as the SDK sends it, and as the OpenAI chat API spells it.
WEATHER_DECLARATION = {
    "description": "Current weather for a city",
    "name": "get_weather",
    "parameters": {
        "properties": {"city": {"type": "STRING"}},
        "required": ["city"],
        "type": "OBJECT",
    },
}
OPENAI_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "type": "object",
        },
    },
}
# Manual function calling: the test plays the function's part.
TOOLS_CONFIG = types.GenerateContentConfig(
    tools=[types.Tool(function_declarations=[WEATHER_FN])],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
)


def http_options(base_url: str, **kw) -> types.HttpOptions:
    # One attempt: a retry would hide what the gateway answered the first time.
    return types.HttpOptions(
        base_url=base_url,
        timeout=20_000,
        retry_options=types.HttpRetryOptions(attempts=1),
        **kw,
    )


class SentBySdk:
    """The (path, body) of every request the sync SDK client sent, oldest first."""

    def __init__(self):
        self.requests: list[tuple[str, bytes]] = []

    def __call__(self, request) -> None:
        self.requests.append((request.url.path, request.content))

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]


@pytest.fixture(scope="session")
def sdk_sent() -> SentBySdk:
    return SentBySdk()


@pytest.fixture(scope="session")
def client(gateway, sdk_sent) -> genai.Client:
    options = http_options(
        f"{gateway.url}/genai", client_args={"event_hooks": {"request": [sdk_sent]}}
    )
    with genai.Client(api_key=CLIENT_KEY, http_options=options) as c:
        yield c


@pytest.fixture
def sent_by_sdk(sdk_sent) -> SentBySdk:
    sdk_sent.requests.clear()
    return sdk_sent


@pytest.fixture(scope="session")
def openai_client(gateway) -> openai.OpenAI:
    with openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=20
    ) as c:
        yield c


def mock_embedding(text: str, dims: int = 8) -> list[float]:
    """The mock's Gemini embedding of `text` (FNV-1a over the text and the component index)."""
    out = []
    for k in range(dims):
        h = 0xCBF29CE484222325
        for b in text.encode() + k.to_bytes(8, "little"):
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        out.append(((h % 2048) - 1024) / 1024)
    return out


def assert_sent_to_gemini(record: dict, path: str) -> None:
    """The mock got `path` with ringway's Gemini key, nothing of the client's."""
    assert record["path"] == path
    assert header_values(record, "x-goog-api-key") == [GEMINI_KEY], record
    assert header_values(record, "authorization") == [], record
    assert CLIENT_KEY not in str(record), record


def assert_sent_to_openai(record: dict, path: str = "/v1/chat/completions") -> None:
    assert record["method"] == "POST"
    assert record["path"] == path
    assert header_values(record, "authorization") == [f"Bearer {OPENAI_KEY}"], record
    assert header_values(record, "x-goog-api-key") == [], record
    assert CLIENT_KEY not in str(record), record


def stream_text(chunks) -> str:
    return "".join(c.text or "" for c in chunks)


# --- generate_content to the gemini provider --------------------------------------------------


@pytest.mark.parametrize("api_version", ["v1", "v1beta"])
def test_generate_content(gateway, recorded, api_version):
    sent_by_sdk = SentBySdk()
    # `v1` is the SDK's default: leave it unset there.
    extra = {} if api_version == "v1" else {"api_version": api_version}
    options = http_options(
        f"{gateway.url}/genai", client_args={"event_hooks": {"request": [sent_by_sdk]}}, **extra
    )
    with genai.Client(api_key=CLIENT_KEY, http_options=options) as c:
        reply = c.models.generate_content(
            model=MODEL,
            contents="Hello gemini",
            config=types.GenerateContentConfig(
                system_instruction="be brief", max_output_tokens=64, temperature=0.5
            ),
        )
    assert reply.text == "echo: Hello gemini"
    (candidate,) = reply.candidates
    assert candidate.content.role == "model"
    assert candidate.finish_reason == types.FinishReason.STOP
    assert reply.response_id.startswith("mock-resp-")
    assert reply.model_version == MODEL
    usage = reply.usage_metadata
    # Word counts: "be brief" + "Hello gemini" in, "echo: Hello gemini" out.
    assert (usage.prompt_token_count, usage.candidates_token_count) == (4, 3)
    assert usage.total_token_count == 7

    [(sdk_path, sdk_body)] = sent_by_sdk.requests
    assert sdk_path == f"/genai/{api_version}/models/{MODEL}:generateContent"
    (sent,) = recorded()
    assert sent["method"] == "POST"
    assert_sent_to_gemini(sent, f"/v1beta/models/{MODEL}:generateContent")
    # The SDK's body goes up byte for byte.
    assert sent["body"].encode() == sdk_body
    assert recorded_body(sent) == {
        "contents": [{"parts": [{"text": "Hello gemini"}], "role": "user"}],
        "systemInstruction": {"parts": [{"text": "be brief"}], "role": "user"},
        "generationConfig": {"temperature": 0.5, "maxOutputTokens": 64},
    }


def test_generate_content_stream(client, recorded, sent_by_sdk):
    text = "stream gemini please"
    chunks = list(client.models.generate_content_stream(model=MODEL, contents=text))
    # The mock splits the answer over many chunks; each reaches the SDK.
    assert len(chunks) > 3, chunks
    assert stream_text(chunks) == f"echo: {text}"
    assert len({c.response_id for c in chunks}) == 1
    *body, last = chunks
    assert all(c.candidates[0].finish_reason is None for c in body)
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    usage = last.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (3, 4)

    assert sent_by_sdk.paths() == [f"/genai/v1/models/{MODEL}:streamGenerateContent"]
    (sent,) = recorded()
    assert_sent_to_gemini(sent, f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse")
    assert recorded_body(sent) == {"contents": [{"parts": [{"text": text}], "role": "user"}]}


def test_async_generate_and_stream(client, recorded):
    async def run():
        replies = await asyncio.gather(
            client.aio.models.generate_content(model=MODEL, contents="one"),
            client.aio.models.generate_content(model=MODEL, contents="two"),
        )
        stream = await client.aio.models.generate_content_stream(
            model=MODEL, contents="async stream"
        )
        return replies, [c async for c in stream]

    (first, second), chunks = asyncio.run(run())
    assert (first.text, second.text) == ("echo: one", "echo: two")
    assert stream_text(chunks) == "echo: async stream"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    sent = recorded()
    assert len(sent) == 3
    assert sorted(r["path"] for r in sent) == [
        f"/v1beta/models/{MODEL}:generateContent",
        f"/v1beta/models/{MODEL}:generateContent",
        f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
    ]
    for record in sent:
        assert_sent_to_gemini(record, record["path"])


# --- embeddings -------------------------------------------------------------------------------


def test_embed_content(client, recorded):
    one = client.models.embed_content(
        model=EMBED_MODEL,
        contents="embed me",
        config=types.EmbedContentConfig(output_dimensionality=3),
    )
    batch = client.models.embed_content(model=EMBED_MODEL, contents=["a", "b", "c"])
    assert [e.values for e in one.embeddings] == [mock_embedding("embed me", 3)]
    assert [e.values for e in batch.embeddings] == [mock_embedding(t) for t in "abc"]

    single_req, batch_req = recorded()
    path = f"/v1beta/models/{EMBED_MODEL}:batchEmbedContents"
    assert_sent_to_gemini(single_req, path)
    assert_sent_to_gemini(batch_req, path)
    assert recorded_body(single_req) == {
        "requests": [
            {
                "model": f"models/{EMBED_MODEL}",
                "content": {"role": "user", "parts": [{"text": "embed me"}]},
                "outputDimensionality": 3,
            }
        ]
    }
    assert [r["content"]["parts"][0]["text"] for r in recorded_body(batch_req)["requests"]] == [
        "a",
        "b",
        "c",
    ]


# --- function calling -------------------------------------------------------------------------


def test_function_calling_round_trip(client, recorded):
    question = types.Content(role="user", parts=[types.Part(text="please call a tool for Paris")])
    first = client.models.generate_content(model=MODEL, contents=[question], config=TOOLS_CONFIG)
    (call,) = first.function_calls
    assert (call.name, call.args) == ("get_weather", {})
    (part,) = first.candidates[0].content.parts
    assert part.thought_signature == MOCK_SIGNATURE
    assert first.candidates[0].finish_reason == types.FinishReason.STOP

    # The SDK's own content goes back as the model turn, then the function's result.
    second = client.models.generate_content(
        model=MODEL,
        contents=[
            question,
            first.candidates[0].content,
            types.Content(
                role="user",
                parts=[
                    types.Part.from_function_response(
                        name="get_weather", response={"result": "sunny"}
                    ),
                    types.Part(text="now summarise"),
                ],
            ),
        ],
        config=TOOLS_CONFIG,
    )
    assert second.text == "echo: now summarise"
    assert second.function_calls is None

    ask, answer = recorded()
    assert recorded_body(ask)["tools"] == [{"functionDeclarations": [WEATHER_DECLARATION]}]
    contents = recorded_body(answer)["contents"]
    # The signature makes the round trip, as Gemini requires.
    assert contents[1] == {
        "parts": [
            {
                "functionCall": {"args": {}, "name": "get_weather"},
                "thoughtSignature": base64.b64encode(MOCK_SIGNATURE).decode(),
            }
        ],
        "role": "model",
    }
    assert contents[2]["parts"][0] == {
        "functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}
    }
    for record in (ask, answer):
        assert_sent_to_gemini(record, f"/v1beta/models/{MODEL}:generateContent")


def test_streamed_function_call(client):
    chunks = list(
        client.models.generate_content_stream(
            model=MODEL, contents="call a tool", config=TOOLS_CONFIG
        )
    )
    calls = [fc for c in chunks for fc in c.function_calls or []]
    assert [(fc.name, fc.args) for fc in calls] == [("get_weather", {})]
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP


# --- models -----------------------------------------------------------------------------------


def test_models_list(client, recorded, sent_by_sdk):
    models = list(client.models.list())
    assert [m.name for m in models] == [
        "models/gemini-2.5-flash",
        "models/gemini-2.0-flash",
        "models/text-embedding-004",
    ]
    assert models[0].display_name == "Gemini 2.5 Flash"
    assert models[0].output_token_limit == 65536
    assert models[2].supported_actions == ["embedContent"]
    assert sent_by_sdk.paths() == ["/genai/v1/models"]
    (sent,) = recorded()
    assert sent["method"] == "GET"
    assert_sent_to_gemini(sent, "/v1beta/models?pageSize=1000")


# --- cross-format: the genai SDK asking for an OpenAI model ------------------------------------


def test_openai_model_from_the_genai_sdk(client, recorded, sent_by_sdk):
    reply = client.models.generate_content(
        model="openai/gpt-4o-mini",
        contents="from the genai sdk",
        config=types.GenerateContentConfig(
            system_instruction="be brief", max_output_tokens=64, temperature=0.5
        ),
    )
    # The chat completion comes back as a GenerateContentResponse.
    assert reply.text == "echo: from the genai sdk"
    assert reply.candidates[0].content.role == "model"
    assert reply.candidates[0].finish_reason == types.FinishReason.STOP
    assert reply.model_version == "gpt-4o-mini"
    assert reply.response_id.startswith("chatcmpl-mock-")
    usage = reply.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (6, 5)
    assert usage.total_token_count == 11

    # The SDK puts the prefixed model in the path as it is.
    assert sent_by_sdk.paths() == ["/genai/v1/models/openai/gpt-4o-mini:generateContent"]
    (sent,) = recorded()
    assert_sent_to_openai(sent)
    assert recorded_body(sent) == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "from the genai sdk"},
        ],
        "max_completion_tokens": 64,
        "temperature": 0.5,
    }


def test_openai_model_stream_from_the_genai_sdk(client, recorded):
    chunks = list(
        client.models.generate_content_stream(model="openai/gpt-4o-mini", contents="stream it")
    )
    assert len(chunks) > 3, chunks
    assert stream_text(chunks) == "echo: stream it"
    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    # OpenAI's usage event lands on the last Gemini chunk.
    usage = last.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (2, 3)

    (sent,) = recorded()
    assert_sent_to_openai(sent)
    body = recorded_body(sent)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_openai_model_function_calling_round_trip(client, recorded):
    question = types.Content(role="user", parts=[types.Part(text="call a tool please")])
    first = client.models.generate_content(
        model="openai/gpt-4o-mini", contents=[question], config=TOOLS_CONFIG
    )
    (call,) = first.function_calls
    assert (call.name, call.args) == ("get_weather", {})
    # OpenAI's call id is kept as the function call's id.
    assert call.id.startswith("call_mock_")

    second = client.models.generate_content(
        model="openai/gpt-4o-mini",
        contents=[
            question,
            first.candidates[0].content,
            types.Content(
                role="user",
                parts=[
                    types.Part.from_function_response(
                        name="get_weather", response={"result": "sunny"}
                    )
                ],
            ),
            types.Content(role="user", parts=[types.Part(text="now summarise")]),
        ],
        config=TOOLS_CONFIG,
    )
    assert second.text == "echo: now summarise"

    ask, answer = recorded()
    assert recorded_body(ask)["tools"] == [OPENAI_WEATHER_TOOL]
    assert recorded_body(answer)["messages"] == [
        {"role": "user", "content": "call a tool please"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        # A lone `result` string is the tool message's text.
        {"role": "tool", "content": "sunny", "tool_call_id": call.id},
        {"role": "user", "content": "now summarise"},
    ]
    for record in (ask, answer):
        assert_sent_to_openai(record)


def test_openai_model_embeddings_from_the_genai_sdk(client, openai_client, recorded):
    reply = client.models.embed_content(
        model="openai/text-embedding-3-small", contents=["a", "b"]
    )
    (sent,) = recorded()
    assert_sent_to_openai(sent, "/v1/embeddings")
    assert recorded_body(sent) == {"model": "text-embedding-3-small", "input": ["a", "b"]}

    # The same vectors the OpenAI SDK gets for the same inputs.
    direct = openai_client.embeddings.create(
        model="openai/text-embedding-3-small", input=["a", "b"], encoding_format="float"
    )
    assert len(reply.embeddings) == 2
    for got, want in zip(reply.embeddings, direct.data):
        assert len(got.values) == 8
        assert got.values == pytest.approx(want.embedding, rel=1e-6)
    assert reply.embeddings[0].values != reply.embeddings[1].values


# --- cross-format: the openai SDK asking for a Gemini model ------------------------------------


def test_gemini_model_from_the_openai_sdk(openai_client, recorded):
    reply = openai_client.chat.completions.create(
        model=f"gemini/{MODEL}",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello gemini"},
        ],
        max_tokens=50,
        temperature=0.2,
    )
    choice = reply.choices[0]
    assert choice.message.content == "echo: hello gemini"
    assert choice.finish_reason == "stop"
    assert reply.id.startswith("mock-resp-")
    assert reply.model == MODEL
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (4, 3)
    assert reply.model_extra["extra_fields"]["provider"] == "gemini"

    (sent,) = recorded()
    assert_sent_to_gemini(sent, f"/v1beta/models/{MODEL}:generateContent")
    assert recorded_body(sent) == {
        "contents": [{"role": "user", "parts": [{"text": "hello gemini"}]}],
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "generationConfig": {"maxOutputTokens": 50, "temperature": 0.2},
    }


def test_gemini_model_stream_from_the_openai_sdk(openai_client, recorded):
    chunks = list(
        openai_client.chat.completions.create(
            model=f"gemini/{MODEL}",
            messages=[{"role": "user", "content": "stream gemini"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == "echo: stream gemini"
    *body, usage_chunk = chunks
    assert usage_chunk.choices == []
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (2, 3)
    assert body[-1].choices[0].finish_reason == "stop"
    (sent,) = recorded()
    assert_sent_to_gemini(sent, f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse")


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class", "status_name"),
    [
        (400, errors.ClientError, "INVALID_ARGUMENT"),
        (404, errors.ClientError, "NOT_FOUND"),
        (429, errors.ClientError, "RESOURCE_EXHAUSTED"),
        (500, errors.ServerError, "INTERNAL"),
        (503, errors.ServerError, "UNAVAILABLE"),
    ],
)
def test_upstream_error_becomes_the_sdk_error_class(
    client, recorded, status, error_class, status_name
):
    with pytest.raises(error_class) as info:
        client.models.generate_content(model=f"{MODEL}-fail-{status}", contents="fail")
    err = info.value
    message = f"mock failure: status {status} forced by the model name"
    assert (err.code, err.status, err.message) == (status, status_name, message)
    # Google's error shape, as the provider sent it.
    assert err.details == {"error": {"code": status, "message": message, "status": status_name}}
    # Neither the gateway nor the SDK retried behind our back.
    assert len(recorded()) == 1


def test_openai_provider_error_takes_the_google_shape(client, recorded):
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model="openai/gpt-4o-mini-fail-404", contents="fail")
    err = info.value
    assert (err.code, err.status) == (404, "NOT_FOUND")
    assert "mock failure" in err.message
    assert err.details["error"]["code"] == 404
    (sent,) = recorded()
    assert_sent_to_openai(sent)
    assert recorded_body(sent)["model"] == "gpt-4o-mini-fail-404"


def test_error_in_the_middle_of_a_stream_is_raised(client, recorded):
    received = []
    with pytest.raises(errors.ServerError) as info:
        for chunk in client.models.generate_content_stream(
            model=f"{MODEL}-stream-error", contents="break it"
        ):
            received.append(chunk)
    err = info.value
    assert (err.code, err.status) == (503, "UNAVAILABLE")
    assert err.details["error"]["message"] == "mock failure: stream broken by the model name"
    # The mock sends two chunks before the error; they reached the SDK first.
    assert len(received) == 2
    assert "echo: break it".startswith(stream_text(received))
    assert len(recorded()) == 1
