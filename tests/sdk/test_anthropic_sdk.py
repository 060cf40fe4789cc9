"""The official `anthropic` SDK against ringway at `/anthropic`, and the mock upstream.

An Anthropic-format request for an Anthropic model goes up as it came (the gateway's key and
version header instead of the client's); for `openai/<model>` it is translated to chat
completions and the answer back to a Messages body. The reverse direction (the `openai` SDK asking
for `anthropic/<model>`) is covered here too. Every test checks what the SDK parsed and what the
mock actually received.
"""

from __future__ import annotations

import asyncio

import anthropic
import openai
import pytest
from conftest import (
    ANTHROPIC_KEY,
    CLIENT_KEY,
    OPENAI_KEY,
    header_values,
    recorded_body,
)

MODEL = "claude-3-5-haiku"
# The `anthropic-version` ringway sends upstream, whatever the client sent.
API_VERSION = "2023-06-01"

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
# The same tool as the OpenAI chat API spells it.
OPENAI_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": WEATHER_TOOL["name"],
        "description": WEATHER_TOOL["description"],
        "parameters": WEATHER_TOOL["input_schema"],
    },
}


def user(text) -> list[dict]:
    return [{"role": "user", "content": text}]


def anthropic_client(base_url: str, **kw) -> anthropic.Anthropic:
    # No SDK retries: a retry would hide what the gateway answered the first time.
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 20)
    return anthropic.Anthropic(base_url=base_url, api_key=CLIENT_KEY, **kw)


@pytest.fixture(scope="session")
def client(gateway) -> anthropic.Anthropic:
    with anthropic_client(f"{gateway.url}/anthropic") as c:
        yield c


@pytest.fixture(scope="session")
def openai_client(gateway) -> openai.OpenAI:
    with openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=20
    ) as c:
        yield c


def assert_sent_to_anthropic(record: dict) -> None:
    """The mock got a Messages request with ringway's key and version, nothing of the client's."""
    assert record["method"] == "POST"
    assert record["path"] == "/v1/messages"
    assert header_values(record, "x-api-key") == [ANTHROPIC_KEY], record
    assert header_values(record, "anthropic-version") == [API_VERSION], record
    assert header_values(record, "authorization") == [], record
    assert CLIENT_KEY not in str(record), record


def assert_sent_to_openai(record: dict) -> None:
    assert record["method"] == "POST"
    assert record["path"] == "/v1/chat/completions"
    assert header_values(record, "authorization") == [f"Bearer {OPENAI_KEY}"], record
    assert header_values(record, "x-api-key") == [], record
    assert header_values(record, "anthropic-version") == [], record
    assert CLIENT_KEY not in str(record), record


def text_of(message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


# --- messages to the anthropic provider -------------------------------------------------------


def test_message_create(client, recorded):
    reply = client.messages.create(
        model=MODEL, max_tokens=64, system="be brief", messages=user("Hello claude")
    )
    assert reply.type == "message"
    assert reply.role == "assistant"
    assert reply.id.startswith("msg_mock_")
    assert reply.model == MODEL
    (block,) = reply.content
    assert block.type == "text"
    assert block.text == "echo: Hello claude"
    assert reply.stop_reason == "end_turn"
    assert reply.stop_sequence is None
    # Word counts: "be brief" + "Hello claude" in, "echo: Hello claude" out.
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (4, 3)

    (sent,) = recorded()
    assert_sent_to_anthropic(sent)
    # The SDK's body goes up as it is.
    assert recorded_body(sent) == {
        "max_tokens": 64,
        "messages": user("Hello claude"),
        "model": MODEL,
        "system": "be brief",
    }


def test_count_tokens(client, recorded):
    counted = client.messages.count_tokens(
        model=MODEL, system="be brief", messages=user("how many tokens is this")
    )
    # Word counts: "be brief" + "how many tokens is this".
    assert counted.input_tokens == 7
    (sent,) = recorded()
    assert sent["path"] == "/v1/messages/count_tokens"
    assert header_values(sent, "x-api-key") == [ANTHROPIC_KEY], sent
    assert CLIENT_KEY not in str(sent), sent
    assert recorded_body(sent)["model"] == MODEL


def test_beta_count_tokens_passes_the_beta_header(client, recorded):
    counted = client.beta.messages.count_tokens(
        model=MODEL, messages=user("two words"), betas=["token-counting-2024-11-01"]
    )
    assert counted.input_tokens == 2
    (sent,) = recorded()
    # Passed on as the SDK sent it (the SDK may repeat the beta it adds itself).
    (beta,) = header_values(sent, "anthropic-beta")
    assert set(beta.split(",")) == {"token-counting-2024-11-01"}, sent


def test_models_list(client, recorded):
    page = client.models.list()
    ids = [m.id for m in page.data]
    assert "claude-sonnet-4-5-20250929" in ids, ids
    model = next(m for m in page.data if m.id == "claude-sonnet-4-5-20250929")
    assert model.type == "model"
    assert model.display_name == "Claude Sonnet 4.5"
    assert model.created_at.year == 2025
    (sent,) = recorded()
    assert sent["method"] == "GET"
    assert sent["path"] == "/v1/models"
    assert header_values(sent, "x-api-key") == [ANTHROPIC_KEY], sent


@pytest.mark.parametrize("prefix", ["/litellm", "/langchain", "/pydanticai"])
def test_integration_prefixes_serve_the_anthropic_route(gateway, recorded, prefix):
    with anthropic_client(f"{gateway.url}{prefix}/anthropic") as c:
        reply = c.messages.create(model=MODEL, max_tokens=16, messages=user("via alias"))
    assert text_of(reply) == "echo: via alias"
    (sent,) = recorded()
    assert_sent_to_anthropic(sent)
    assert recorded_body(sent)["model"] == MODEL


def test_async_messages(gateway, recorded):
    async def run():
        async with anthropic.AsyncAnthropic(
            base_url=f"{gateway.url}/anthropic", api_key=CLIENT_KEY, max_retries=0, timeout=20
        ) as c:
            return await asyncio.gather(
                c.messages.create(model=MODEL, max_tokens=16, messages=user("one")),
                c.messages.create(model=MODEL, max_tokens=16, messages=user("two")),
            )

    first, second = asyncio.run(run())
    assert text_of(first) == "echo: one"
    assert text_of(second) == "echo: two"
    sent = recorded()
    assert sorted(recorded_body(r)["messages"][0]["content"] for r in sent) == ["one", "two"]
    for record in sent:
        assert_sent_to_anthropic(record)


# --- streaming --------------------------------------------------------------------------------


def test_stream_helper_text_deltas_and_final_message(client, recorded):
    text = "stream me please"
    with client.messages.stream(model=MODEL, max_tokens=64, messages=user(text)) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    # The mock splits the answer over many events; the SDK hands each one over.
    assert len(deltas) > 3, deltas
    assert "".join(deltas) == f"echo: {text}"
    assert final.id.startswith("msg_mock_")
    assert final.model == MODEL
    assert text_of(final) == f"echo: {text}"
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 4)

    (sent,) = recorded()
    assert_sent_to_anthropic(sent)
    body = recorded_body(sent)
    assert body["stream"] is True
    assert body["messages"] == user(text)


def test_raw_stream_events(client):
    events = list(
        client.messages.create(model=MODEL, max_tokens=64, messages=user("raw events"), stream=True)
    )
    kinds = [e.type for e in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}, kinds
    start = events[0].message
    assert start.id.startswith("msg_mock_")
    assert start.content == []
    assert events[1].content_block.type == "text"
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == "echo: raw events"
    assert events[-2].delta.stop_reason == "end_turn"
    assert events[-2].usage.output_tokens == 3


# --- tools ------------------------------------------------------------------------------------


def test_tool_use_round_trip(client, recorded):
    question = "please call a tool for Paris"
    first = client.messages.create(
        model=MODEL, max_tokens=64, tools=[WEATHER_TOOL], messages=user(question)
    )
    assert first.stop_reason == "tool_use"
    (call,) = first.content
    assert call.type == "tool_use"
    assert call.id.startswith("toolu_mock_")
    assert call.name == "get_weather"
    assert call.input == {}

    # The SDK's own blocks go back as the assistant turn, then the tool's result.
    second = client.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=[WEATHER_TOOL],
        messages=[
            *user(question),
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21C"},
                    {"type": "text", "text": "and summarise"},
                ],
            },
        ],
    )
    assert text_of(second) == "echo: and summarise"
    assert second.stop_reason == "end_turn"

    ask, answer = recorded()
    assert recorded_body(ask)["tools"] == [WEATHER_TOOL]
    messages = recorded_body(answer)["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": [{"id": call.id, "input": {}, "name": "get_weather", "type": "tool_use"}],
    }
    assert messages[2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": call.id,
        "content": "sunny, 21C",
    }
    for record in (ask, answer):
        assert_sent_to_anthropic(record)


def test_streamed_tool_use(client):
    with client.messages.stream(
        model=MODEL, max_tokens=64, tools=[WEATHER_TOOL], messages=user("call a tool")
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    deltas = [e for e in events if e.type == "content_block_delta"]
    assert [d.delta.type for d in deltas] == ["input_json_delta"]
    assert deltas[0].delta.partial_json == "{}"
    (call,) = final.content
    assert (call.type, call.name, call.input) == ("tool_use", "get_weather", {})
    assert call.id.startswith("toolu_mock_")
    assert final.stop_reason == "tool_use"


# --- cross-format: the anthropic SDK asking for an OpenAI model --------------------------------


def test_openai_model_from_the_anthropic_sdk(client, recorded):
    reply = client.messages.create(
        model="openai/gpt-4o-mini",
        max_tokens=64,
        system="be brief",
        messages=user("from the anthropic sdk"),
    )
    # The chat completion comes back as a Messages body.
    assert reply.type == "message"
    assert reply.role == "assistant"
    assert reply.id.startswith("chatcmpl-mock-")
    assert reply.model == "gpt-4o-mini"
    assert text_of(reply) == "echo: from the anthropic sdk"
    assert reply.stop_reason == "end_turn"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (6, 5)

    (sent,) = recorded()
    assert_sent_to_openai(sent)
    assert recorded_body(sent) == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "from the anthropic sdk"},
        ],
        "max_completion_tokens": 64,
    }


def test_openai_model_request_fields_are_translated(client, recorded):
    reply = client.messages.create(
        model="openai/gpt-4o-mini",
        max_tokens=32,
        system=[{"type": "text", "text": "be"}, {"type": "text", "text": "brief"}],
        stop_sequences=["zzz"],
        metadata={"user_id": "u-1"},
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=user(
            [{"type": "text", "text": "part one"}, {"type": "text", "text": "part two"}]
        ),
    )
    assert text_of(reply) == "echo: part one part two"

    (sent,) = recorded()
    assert_sent_to_openai(sent)
    assert recorded_body(sent) == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be\nbrief"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "part one"},
                    {"type": "text", "text": "part two"},
                ],
            },
        ],
        "max_completion_tokens": 32,
        "stop": ["zzz"],
        "user": "u-1",
        "tools": [OPENAI_WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    }


def test_openai_model_stream_from_the_anthropic_sdk(client, recorded):
    with client.messages.stream(
        model="openai/gpt-4o-mini", max_tokens=64, messages=user("stream it")
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "message_delta" in kinds
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == "echo: stream it"
    assert text_of(final) == "echo: stream it"
    assert final.id.startswith("chatcmpl-mock-")
    assert final.stop_reason == "end_turn"
    # OpenAI sends usage last; it reaches the SDK's final message.
    assert (final.usage.input_tokens, final.usage.output_tokens) == (2, 3)

    (sent,) = recorded()
    assert_sent_to_openai(sent)
    body = recorded_body(sent)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_openai_model_tool_use_round_trip(client, recorded):
    question = "call a tool for Paris"
    first = client.messages.create(
        model="openai/gpt-4o-mini", max_tokens=64, tools=[WEATHER_TOOL], messages=user(question)
    )
    assert first.stop_reason == "tool_use"
    (call,) = first.content
    assert call.type == "tool_use"
    # OpenAI's call id stands as the tool_use id.
    assert call.id.startswith("call_mock_")
    assert (call.name, call.input) == ("get_weather", {})

    second = client.messages.create(
        model="openai/gpt-4o-mini",
        max_tokens=64,
        tools=[WEATHER_TOOL],
        messages=[
            *user(question),
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21C"},
                    {"type": "text", "text": "and summarise"},
                ],
            },
        ],
    )
    assert text_of(second) == "echo: and summarise"

    ask, answer = recorded()
    assert recorded_body(ask)["tools"] == [OPENAI_WEATHER_TOOL]
    assert recorded_body(answer)["messages"] == [
        {"role": "user", "content": question},
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
        {"role": "tool", "content": "sunny, 21C", "tool_call_id": call.id},
        {"role": "user", "content": "and summarise"},
    ]
    for record in (ask, answer):
        assert_sent_to_openai(record)


# --- cross-format: the openai SDK asking for an Anthropic model --------------------------------


def test_anthropic_model_from_the_openai_sdk(openai_client, recorded):
    reply = openai_client.chat.completions.create(
        model=f"anthropic/{MODEL}",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello claude"},
        ],
    )
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "echo: hello claude"
    assert choice.finish_reason == "stop"
    assert reply.object == "chat.completion"
    assert reply.id.startswith("msg_mock_")
    assert reply.model == MODEL
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (4, 3)
    assert reply.model_extra["extra_fields"]["provider"] == "anthropic"

    (sent,) = recorded()
    assert_sent_to_anthropic(sent)
    # Anthropic requires max_tokens: ringway fills in Bifrost's default.
    assert recorded_body(sent) == {
        "model": MODEL,
        "messages": user("hello claude"),
        "max_tokens": 4096,
        "system": "be brief",
    }


def test_anthropic_model_stream_from_the_openai_sdk(openai_client, recorded):
    chunks = list(
        openai_client.chat.completions.create(
            model=f"anthropic/{MODEL}",
            messages=user("stream claude"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].id.startswith("msg_mock_")
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == "echo: stream claude"
    *body, usage_chunk = chunks
    assert usage_chunk.choices == []
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (2, 3)
    assert body[-1].choices[0].finish_reason == "stop"

    (sent,) = recorded()
    assert_sent_to_anthropic(sent)
    assert recorded_body(sent)["stream"] is True


def test_anthropic_model_tool_call_from_the_openai_sdk(openai_client, recorded):
    reply = openai_client.chat.completions.create(
        model=f"anthropic/{MODEL}", messages=user("call a tool"), tools=[OPENAI_WEATHER_TOOL]
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.id.startswith("toolu_mock_")
    assert (call.function.name, call.function.arguments) == ("get_weather", "{}")

    (sent,) = recorded()
    assert_sent_to_anthropic(sent)
    assert recorded_body(sent)["tools"] == [WEATHER_TOOL]


# --- errors and fallbacks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_upstream_error_becomes_the_sdk_error_class(
    client, recorded, status, error_class, error_type
):
    with pytest.raises(error_class) as info:
        client.messages.create(
            model=f"{MODEL}-fail-{status}", max_tokens=16, messages=user("fail")
        )
    err = info.value
    assert isinstance(err, anthropic.APIStatusError)
    assert err.status_code == status
    # Anthropic's error shape, as the provider sent it.
    assert err.body == {
        "type": "error",
        "error": {
            "type": error_type,
            "message": f"mock failure: status {status} forced by the model name",
        },
    }
    # Neither the gateway nor the SDK retried behind our back.
    assert len(recorded()) == 1


def test_openai_provider_error_takes_the_anthropic_shape(client, recorded):
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(
            model="openai/gpt-4o-mini-fail-429", max_tokens=16, messages=user("fail")
        )
    err = info.value
    assert err.status_code == 429
    assert err.body["type"] == "error"
    assert err.body["error"]["type"] == "rate_limit_error"
    assert "mock failure" in err.body["error"]["message"]
    (sent,) = recorded()
    assert_sent_to_openai(sent)


def test_gateway_side_error_takes_the_anthropic_shape(client, recorded):
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(model="", max_tokens=16, messages=user("no model"))
    assert info.value.status_code == 400
    assert info.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "model is required"},
    }
    assert recorded() == []


@pytest.mark.parametrize(
    ("model", "error_type"),
    [
        (f"{MODEL}-stream-error", "overloaded_error"),
        ("openai/gpt-4o-mini-stream-error", "api_error"),
    ],
)
def test_error_in_the_middle_of_a_stream_is_raised(client, recorded, model, error_type):
    received = []
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(model=model, max_tokens=16, messages=user("break")) as s:
            received.extend(s.text_stream)
    assert info.value.body == {
        "type": "error",
        "error": {"type": error_type, "message": "mock failure: stream broken by the model name"},
    }
    # What came before the error was delivered; the whole answer was not.
    assert "echo: break".startswith("".join(received))
    assert "".join(received) != "echo: break"
    assert len(recorded()) == 1


def test_fallback_from_anthropic_to_openai(client, recorded):
    reply = client.messages.create(
        model=f"{MODEL}-fail-500",
        max_tokens=16,
        messages=user("fall back"),
        extra_body={"fallbacks": ["openai/gpt-4o-mini"]},
    )
    assert text_of(reply) == "echo: fall back"
    assert reply.model == "gpt-4o-mini"

    primary, fallback = recorded()
    assert_sent_to_anthropic(primary)
    assert recorded_body(primary)["model"] == f"{MODEL}-fail-500"
    assert_sent_to_openai(fallback)
    assert recorded_body(fallback)["model"] == "gpt-4o-mini"
    assert all("fallbacks" not in recorded_body(r) for r in (primary, fallback))


def test_sdk_retries_an_upstream_429_and_succeeds(gateway, mock, recorded):
    mock.script(
        {
            "status": 429,
            "body": {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
        }
    )
    with anthropic_client(f"{gateway.url}/anthropic", max_retries=2) as c:
        reply = c.messages.create(model=MODEL, max_tokens=16, messages=user("retry"))
    assert text_of(reply) == "echo: retry"
    assert len(recorded()) == 2
