"""The official `openai` SDK against ringway, with only `base_url` changed, and the mock upstream.

Every test checks what the SDK parsed and, where it matters, what the mock actually received.
"""

from __future__ import annotations

import asyncio
import time

import openai
import pytest
from conftest import (
    CLIENT_KEY,
    GROQ_KEY,
    GROQ_TIMEOUT_S,
    OPENAI_KEY,
    header_values,
    recorded_body,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def sync_client(base_url: str, **kw) -> openai.OpenAI:
    # No SDK retries: a retry would hide what the gateway answered the first time.
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 20)
    return openai.OpenAI(base_url=base_url, api_key=CLIENT_KEY, **kw)


def async_client(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url, api_key=CLIENT_KEY, max_retries=0, timeout=20)


@pytest.fixture(scope="session")
def client(gateway) -> openai.OpenAI:
    with sync_client(f"{gateway.url}/v1") as c:
        yield c


def assert_forwarded_with_gateway_key(record: dict, key: str = OPENAI_KEY) -> None:
    """The mock saw ringway's configured key, and nothing of the SDK's own key."""
    assert header_values(record, "authorization") == [f"Bearer {key}"], record
    assert CLIENT_KEY not in str(record), record


# --- chat completions -------------------------------------------------------------------------


def test_chat_completion_on_v1_with_provider_prefixed_model(client, recorded):
    reply = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=user("Hello there")
    )
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "echo: Hello there"
    assert choice.finish_reason == "stop"
    assert reply.id.startswith("chatcmpl-mock-")
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (2, 3)
    # Bifrost's extra_fields survive the SDK's parsing as an extra attribute.
    assert reply.model_extra["extra_fields"]["provider"] == "openai"

    (sent,) = recorded()
    assert sent["method"] == "POST"
    assert sent["path"] == "/v1/chat/completions"
    body = recorded_body(sent)
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == user("Hello there")
    assert "fallbacks" not in body
    assert_forwarded_with_gateway_key(sent)


@pytest.mark.parametrize(
    "prefix", ["/openai", "/openai/v1", "/litellm", "/langchain/v1", "/pydanticai"]
)
def test_drop_in_base_url_takes_bare_model_names(gateway, recorded, prefix):
    with sync_client(f"{gateway.url}{prefix}") as c:
        reply = c.chat.completions.create(model="gpt-4o-mini", messages=user("drop in"))
    assert reply.choices[0].message.content == "echo: drop in"

    (sent,) = recorded()
    assert sent["path"] == "/v1/chat/completions"
    assert recorded_body(sent)["model"] == "gpt-4o-mini"
    assert_forwarded_with_gateway_key(sent)


def test_another_openai_family_provider(client, recorded):
    reply = client.chat.completions.create(model="groq/llama-3.1-8b", messages=user("hi groq"))
    assert reply.choices[0].message.content == "echo: hi groq"
    assert reply.model_extra["extra_fields"]["provider"] == "groq"

    (sent,) = recorded()
    assert sent["path"] == "/openai/v1/chat/completions"
    assert recorded_body(sent)["model"] == "llama-3.1-8b"
    assert_forwarded_with_gateway_key(sent, GROQ_KEY)


def test_async_chat_completion(gateway, recorded):
    async def run():
        async with async_client(f"{gateway.url}/v1") as c:
            return await asyncio.gather(
                c.chat.completions.create(model="openai/gpt-4o-mini", messages=user("one")),
                c.chat.completions.create(model="openai/gpt-4o-mini", messages=user("two")),
            )

    first, second = asyncio.run(run())
    assert first.choices[0].message.content == "echo: one"
    assert second.choices[0].message.content == "echo: two"
    assert sorted(recorded_body(r)["messages"][0]["content"] for r in recorded()) == ["one", "two"]


# --- streaming --------------------------------------------------------------------------------


def test_streaming_chat_with_usage(client, recorded):
    text = "stream me please"
    chunks = list(
        client.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=user(text),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert len(chunks) > 3, chunks
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == f"echo: {text}"
    assert chunks[0].choices[0].delta.role == "assistant"

    # The usage chunk comes last, with no choices; the one before it carries the finish reason.
    *body, usage_chunk = chunks
    assert usage_chunk.choices == []
    assert usage_chunk.usage.prompt_tokens == 3
    assert usage_chunk.usage.completion_tokens == 4
    assert body[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in body)

    (sent,) = recorded()
    sent_body = recorded_body(sent)
    assert sent_body["stream"] is True
    assert sent_body["stream_options"] == {"include_usage": True}


def test_streaming_chat_without_usage(client, recorded):
    chunks = list(
        client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=user("no usage"), stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: no usage"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)
    assert len(recorded()) == 1


def test_async_streaming_chat(gateway, recorded):
    async def run():
        async with async_client(f"{gateway.url}/openai/v1") as c:
            stream = await c.chat.completions.create(
                model="gpt-4o-mini",
                messages=user("async stream"),
                stream=True,
                stream_options={"include_usage": True},
            )
            return [chunk async for chunk in stream]

    chunks = asyncio.run(run())
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == "echo: async stream"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage.total_tokens == 2 + 3
    assert len(recorded()) == 1


def test_stream_helper_accumulates_the_final_message(client):
    # The SDK's higher-level `.stream()` helper rebuilds the message from the deltas.
    with client.chat.completions.stream(
        model="openai/gpt-4o-mini", messages=user("helper")
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "echo: helper"
    assert final.choices[0].finish_reason == "stop"


# --- tools ------------------------------------------------------------------------------------


def test_tool_call_is_parsed(client, recorded):
    reply = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=user("please call a tool for Paris"),
        tools=[WEATHER_TOOL],
        tool_choice="auto",
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function"
    assert call.id.startswith("call_mock_")
    assert call.function.name == "get_weather"
    assert call.function.arguments == "{}"

    # The tool definitions reach the provider untouched.
    assert recorded_body(recorded()[0])["tools"] == [WEATHER_TOOL]


def test_streamed_tool_call_deltas_assemble(client):
    chunks = list(
        client.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=user("call a tool"),
            tools=[WEATHER_TOOL],
            stream=True,
        )
    )
    calls: dict[int, dict] = {}
    for chunk in chunks:
        for d in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(d.index, {"id": None, "name": "", "arguments": ""})
            call["id"] = call["id"] or d.id
            call["name"] += d.function.name or ""
            call["arguments"] += d.function.arguments or ""
    assert list(calls.values()) == [
        {"id": calls[0]["id"], "name": "get_weather", "arguments": "{}"}
    ]
    assert calls[0]["id"].startswith("call_mock_")
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


# --- legacy completions, embeddings, models ---------------------------------------------------


def test_legacy_completion(client, recorded):
    reply = client.completions.create(
        model="openai/gpt-3.5-turbo-instruct", prompt="Say this is a test"
    )
    assert reply.object == "text_completion"
    assert reply.choices[0].text == "echo: Say this is a test"
    assert reply.usage.prompt_tokens == 5
    (sent,) = recorded()
    assert sent["path"] == "/v1/completions"
    assert recorded_body(sent)["model"] == "gpt-3.5-turbo-instruct"


def test_legacy_completion_stream(client):
    chunks = list(
        client.completions.create(
            model="openai/gpt-3.5-turbo-instruct", prompt="stream the old way", stream=True
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "echo: stream the old way"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_embeddings_base64_default_is_decoded(client, recorded):
    # Without encoding_format the SDK asks for base64 and decodes it itself.
    packed = client.embeddings.create(model="openai/text-embedding-3-small", input="hello")
    floats = client.embeddings.create(
        model="openai/text-embedding-3-small", input="hello", encoding_format="float"
    )
    vector = packed.data[0].embedding
    assert isinstance(vector, list) and len(vector) == 8
    assert all(isinstance(x, float) for x in vector)
    assert vector == pytest.approx(floats.data[0].embedding, rel=1e-6)

    base64_req, float_req = (recorded_body(r) for r in recorded())
    assert base64_req["encoding_format"] == "base64"
    assert float_req["encoding_format"] == "float"


def test_embeddings_batch_and_dimensions(client):
    reply = client.embeddings.create(
        model="openai/text-embedding-3-small", input=["a", "b", "c"], dimensions=16
    )
    assert [d.index for d in reply.data] == [0, 1, 2]
    assert all(len(d.embedding) == 16 for d in reply.data)
    # Deterministic per input: different inputs, different vectors.
    assert reply.data[0].embedding != reply.data[1].embedding


def test_models_list_ids_carry_the_provider(client):
    ids = [m.id for m in client.models.list()]
    by_provider: dict[str, list[str]] = {}
    for i in ids:
        by_provider.setdefault(i.split("/", 1)[0], []).append(i)
    # Every id names one of the configured providers (see conftest.py).
    assert set(by_provider) <= {"openai", "groq", "anthropic", "gemini"}, ids
    assert "openai/gpt-4o-mini" in by_provider["openai"]
    assert len(by_provider["openai"]) == len(by_provider["groq"]) > 0
    # Gemini's `models/...` names, read from its own list shape.
    assert by_provider["gemini"] == [
        "gemini/gemini-2.5-flash",
        "gemini/gemini-2.0-flash",
        "gemini/text-embedding-004",
    ]


# --- fallbacks and errors ---------------------------------------------------------------------


def test_fallback_reached_when_the_primary_fails(client, recorded):
    reply = client.chat.completions.create(
        model="openai/gpt-4o-mini-fail-500",
        messages=user("fall back"),
        extra_body={"fallbacks": ["groq/llama-3.1-8b"]},
    )
    assert reply.choices[0].message.content == "echo: fall back"
    assert reply.model_extra["extra_fields"]["provider"] == "groq"

    primary, fallback = recorded()
    assert recorded_body(primary)["model"] == "gpt-4o-mini-fail-500"
    assert_forwarded_with_gateway_key(primary, OPENAI_KEY)
    assert recorded_body(fallback)["model"] == "llama-3.1-8b"
    assert_forwarded_with_gateway_key(fallback, GROQ_KEY)
    assert all("fallbacks" not in recorded_body(r) for r in (primary, fallback))


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, openai.BadRequestError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_upstream_error_becomes_the_sdk_error_class(client, recorded, status, error_class):
    with pytest.raises(error_class) as info:
        client.chat.completions.create(
            model=f"openai/gpt-4o-mini-fail-{status}", messages=user("fail")
        )
    err = info.value
    assert isinstance(err, openai.APIStatusError)
    assert err.status_code == status
    # The SDK unwraps `error`; the whole body is Bifrost's error shape.
    assert "mock failure" in err.body["message"]
    assert "mock failure" in err.message
    full = err.response.json()
    assert full["is_bifrost_error"] is False
    assert full["status_code"] == status
    assert full["error"]["message"] == err.body["message"]
    assert full["extra_fields"]["provider"] == "openai"
    # Neither the gateway nor the SDK retried behind our back.
    assert len(recorded()) == 1


def test_upstream_401_exhausts_the_keys_with_a_502(client, recorded):
    # Bifrost marks a key the provider rejects as dead for the request; with every key dead the
    # gateway answers 502 upstream_credentials_exhausted rather than passing the 401 on.
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="openai/gpt-4o-mini-fail-401", messages=user("x"))
    err = info.value
    assert err.status_code == 502
    assert err.code == "upstream_credentials_exhausted"
    full = err.response.json()
    assert full["is_bifrost_error"] is True
    assert full["error"]["message"] == "all keys for provider openai were rejected by the upstream"
    assert len(recorded()) == 1


def test_gateway_side_error_has_the_bifrost_shape(client, recorded):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=user("no provider"))
    full = info.value.response.json()
    assert full["status_code"] == 400
    assert "provider" in full["error"]["message"]
    assert recorded() == []


def test_sdk_retries_an_upstream_429_and_succeeds(gateway, mock, recorded):
    # The SDK's own retry loop (default max_retries) works through the gateway: a scripted 429,
    # then the normal answer.
    mock.script(
        {"status": 429, "body": {"error": {"message": "slow down", "type": "requests"}}}
    )
    with sync_client(f"{gateway.url}/v1", max_retries=2) as c:
        reply = c.chat.completions.create(model="openai/gpt-4o-mini", messages=user("retry"))
    assert reply.choices[0].message.content == "echo: retry"
    assert len(recorded()) == 2


# --- headers ----------------------------------------------------------------------------------


def test_raw_response_exposes_forwarded_provider_headers(client, mock, recorded):
    mock.script(
        {"headers": {"x-ratelimit-remaining-requests": "99", "x-request-id": "req-mock-7"}}
    )
    raw = client.chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=user("raw")
    )
    assert raw.status_code == 200
    assert raw.headers["x-ratelimit-remaining-requests"] == "99"
    assert raw.headers["x-request-id"] == "req-mock-7"
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.parse().choices[0].message.content == "echo: raw"
    assert len(recorded()) == 1


def test_client_authorization_never_reaches_the_provider(gateway, recorded):
    with sync_client(
        f"{gateway.url}/v1", default_headers={"OpenAI-Organization": "org-client"}
    ) as c:
        c.chat.completions.create(model="openai/gpt-4o-mini", messages=user("auth"))
        list(
            c.chat.completions.create(
                model="openai/gpt-4o-mini", messages=user("auth stream"), stream=True
            )
        )
        c.embeddings.create(model="openai/text-embedding-3-small", input="auth")
    sent = recorded()
    assert len(sent) == 3
    for record in sent:
        assert_forwarded_with_gateway_key(record)


def test_bifrost_extra_headers_are_forwarded_without_prefix(client, recorded):
    client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=user("trace"),
        extra_headers={"x-bf-eh-x-trace": "abc"},
    )
    (sent,) = recorded()
    assert header_values(sent, "x-trace") == ["abc"]
    assert header_values(sent, "x-bf-eh-x-trace") == []


# --- timeouts ---------------------------------------------------------------------------------


def test_hung_upstream_gives_a_quick_504(gateway, recorded):
    started = time.monotonic()
    with sync_client(f"{gateway.url}/v1", max_retries=0, timeout=30) as c:
        with pytest.raises(openai.APIStatusError) as info:
            c.chat.completions.create(model="groq/llama-hang", messages=user("wait"))
    elapsed = time.monotonic() - started
    err = info.value
    assert err.status_code == 504
    assert isinstance(err, openai.InternalServerError)
    full = err.response.json()
    assert full["is_bifrost_error"] is True
    assert "timed out" in full["error"]["message"]
    # The gateway's 1 s budget, not the SDK's 30 s, decided it.
    assert GROQ_TIMEOUT_S * 0.9 <= elapsed < GROQ_TIMEOUT_S + 4, elapsed
    assert len(recorded()) == 1
