"""The OpenAI-compatible surface with the official Python `openai` package as the client.

Run by test/integration/openai-python-sdk.test.ts, which starts a gateway on the sandbox routes
and sets SWITCHBOARD_OPENAI_BASE_URL, SWITCHBOARD_KEY (every scope), SWITCHBOARD_LIMITED_KEY
(route `fast` only) and SWITCHBOARD_REVOKED_KEY.
"""

import base64
import json
import os
import struct

import openai
import pytest

BASE_URL = os.environ["SWITCHBOARD_OPENAI_BASE_URL"]


def client(key_var: str = "SWITCHBOARD_KEY") -> openai.OpenAI:
    return openai.OpenAI(base_url=BASE_URL, api_key=os.environ[key_var], max_retries=0)


def user(text: str) -> list:
    return [{"role": "user", "content": text}]


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_unary_chat_with_usage_headers():
    raw = client().chat.completions.with_raw_response.create(model="fast", messages=user("hello there"), max_tokens=64)
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert raw.headers["x-switchboard-provider"] == "sandbox"
    assert raw.headers["x-switchboard-attempts"] == "1"
    assert raw.headers["x-request-id"]


def test_stream_with_include_usage():
    chunks = list(
        client().chat.completions.create(model="fast", messages=user("stream please"), stream=True, stream_options={"include_usage": True})
    )
    text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
    assert text
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_tools_unary_and_streamed():
    tool_choice = {"type": "function", "function": {"name": "get_weather"}}
    completion = client().chat.completions.create(model="fast", messages=user("weather in Paris?"), tools=[WEATHER_TOOL], tool_choice=tool_choice)
    call = completion.choices[0].message.tool_calls[0]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)

    with client().chat.completions.stream(model="fast", messages=user("weather in Paris?"), tools=[WEATHER_TOOL], tool_choice=tool_choice) as stream:
        final = stream.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    assert streamed.function.name == "get_weather"
    assert "city" in json.loads(streamed.function.arguments)


def test_embeddings_float_and_base64():
    floats = client().embeddings.create(model="embed", input=["alpha beta", "gamma"], encoding_format="float")
    assert [d.index for d in floats.data] == [0, 1]
    assert len(floats.data[0].embedding) == 256
    encoded = client().embeddings.create(model="embed", input="alpha beta", encoding_format="base64")
    vector = encoded.data[0].embedding
    if isinstance(vector, str):  # older SDKs hand base64 through; newer ones decode it
        raw = base64.b64decode(vector)
        vector = list(struct.unpack(f"<{len(raw) // 4}f", raw))
    assert vector == pytest.approx(floats.data[0].embedding, abs=1e-6)


def test_models_are_the_routes_the_key_may_use():
    assert {"default", "fast", "embed"} <= {m.id for m in client().models.list()}
    assert [m.id for m in client("SWITCHBOARD_LIMITED_KEY").models.list()] == ["fast"]


def test_policies_surface_as_the_sdks_errors():
    with pytest.raises(openai.AuthenticationError):
        client("SWITCHBOARD_REVOKED_KEY").chat.completions.create(model="fast", messages=user("hi"))
    with pytest.raises(openai.PermissionDeniedError):
        client("SWITCHBOARD_LIMITED_KEY").chat.completions.create(model="smart", messages=user("hi"))
    with pytest.raises(openai.NotFoundError) as not_found:
        client().chat.completions.create(model="no-such-route", messages=user("hi"))
    assert not_found.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        client().chat.completions.create(model="fast", messages=user("hi"), temperature=5)
    assert bad.value.param == "temperature"


def test_mid_stream_failure_raises_instead_of_ending_cleanly():
    stream = client().chat.completions.create(model="fast", messages=user("tell me a story [[sandbox:cut]]"), stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
