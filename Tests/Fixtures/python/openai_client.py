"""Drives agentosd's OpenAI-compatible API with the real `openai` package.

    python openai_client.py BASE_URL MODEL CHECK KEY [KEY...]

Each CHECK prints "ok CHECK" and exits 0, or fails with a traceback (exit 1).
The Swift integration tests (OpenAIAPITests) run one check per test.
"""
import json
import sys

import openai

base_url, model, check, keys = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]


def client(key):
    # No retries: a 429 or 5xx must reach the test as it was answered.
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=120)


def expect_error(kind, status, call, param=None, code=None):
    try:
        call()
    except kind as error:
        assert error.status_code == status, (error.status_code, error.body)
        body = error.body or {}
        if param is not None:
            assert body.get("param") == param, body
        if code is not None:
            assert body.get("code") == code, body
        assert body.get("message"), body
        return body
    raise AssertionError(f"expected {kind.__name__} {status}")


QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
WEATHER = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}]


def models():
    ids = [m.id for m in client(keys[0]).models.list().data]
    assert model in ids and "agent:echo" in ids, ids
    assert client(keys[0]).models.retrieve(model).id == model


def chat():
    api = client(keys[0])
    first = api.chat.completions.create(model=model, messages=QUESTION, max_tokens=16)
    assert first.object == "chat.completion" and first.choices[0].message.role == "assistant"
    assert first.choices[0].message.content.strip(), first
    assert first.choices[0].finish_reason in ("stop", "length")
    assert first.usage.prompt_tokens > 5 and 1 <= first.usage.completion_tokens <= 16, first.usage
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens
    second = api.chat.completions.create(model=model, messages=QUESTION, max_tokens=16, seed=1, temperature=0, stop=["\n\n"])
    assert second.choices[0].message.content == first.choices[0].message.content
    # The same prompt again: its prefix is served from the KV cache.
    assert second.usage.prompt_tokens_details.cached_tokens > 0, second.usage


def stream():
    api = client(keys[0])
    whole = api.chat.completions.create(model=model, messages=QUESTION, max_tokens=16)
    chunks = list(api.chat.completions.create(
        model=model, messages=QUESTION, max_tokens=16, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content, (text, whole)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1, "the text came in one piece"
    assert chunks[-2].choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def tools():
    api = client(keys[0])
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    answer = api.chat.completions.create(model=model, messages=messages, tools=WEATHER, tool_choice="required", max_tokens=64)
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather" and call.id
    assert "city" in json.loads(call.function.arguments)
    named = api.chat.completions.create(
        model=model, messages=messages, tools=WEATHER, max_tokens=64,
        tool_choice={"type": "function", "function": {"name": "get_weather"}}, stream=True)
    calls = [tc for c in named if c.choices and c.choices[0].delta.tool_calls for tc in c.choices[0].delta.tool_calls]
    assert calls and calls[0].function.name == "get_weather", calls
    # The tool's result goes back as a tool message; the model answers.
    follow = messages + [choice.message.model_dump(exclude_none=True),
                         {"role": "tool", "tool_call_id": call.id, "content": '{"celsius": 21}'}]
    final = api.chat.completions.create(model=model, messages=follow, tools=WEATHER, max_tokens=32)
    assert final.choices[0].message.content is not None or final.choices[0].message.tool_calls


def json_schema():
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
              "required": ["city", "country"], "additionalProperties": False}
    answer = client(keys[0]).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Name a city and its country as JSON."}], max_tokens=64,
        response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema, "strict": True}})
    value = json.loads(answer.choices[0].message.content)
    assert set(value) == {"city", "country"}, value


def responses():
    answer = client(keys[0]).responses.create(model=model, input="Say hello.", instructions="Be brief.", max_output_tokens=16)
    assert answer.status == "completed" and answer.output_text.strip(), answer
    assert answer.usage.input_tokens > 0 and answer.usage.output_tokens > 0
    echo = client(keys[0]).responses.create(model="agent:echo", input="ping through responses")
    assert echo.output_text == "ping through responses", echo


def agent():
    api = client(keys[0])
    answer = api.chat.completions.create(model="agent:echo", messages=[{"role": "user", "content": "hello agent"}])
    assert answer.choices[0].message.content == "hello agent", answer
    chunks = list(api.chat.completions.create(model="agent:echo", messages=[{"role": "user", "content": "streamed"}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "streamed"


def errors():
    good, no_infer, revoked = client(keys[0]), client(keys[1]), client(keys[2])
    expect_error(openai.AuthenticationError, 401, lambda: client("aos-wrong").models.list(), code="invalid_api_key")
    expect_error(openai.AuthenticationError, 401, lambda: revoked.models.list(), code="invalid_api_key")
    expect_error(openai.PermissionDeniedError, 403, lambda: no_infer.chat.completions.create(model=model, messages=QUESTION))
    expect_error(openai.PermissionDeniedError, 403, lambda: good.chat.completions.create(model="agent:secret", messages=QUESTION))
    expect_error(openai.NotFoundError, 404, lambda: good.chat.completions.create(model="gpt-17", messages=QUESTION),
                 param="model", code="model_not_found")
    expect_error(openai.NotFoundError, 404, lambda: good.chat.completions.create(model="agent:echo-gone", messages=QUESTION),
                 code="model_not_found")
    expect_error(openai.BadRequestError, 400, lambda: good.chat.completions.create(model=model, messages=QUESTION, n=2), param="n")
    expect_error(openai.BadRequestError, 400,
                 lambda: good.chat.completions.create(model=model, messages=QUESTION, extra_body={"bogus": 1}),
                 param="bogus", code="unknown_parameter")
    expect_error(openai.BadRequestError, 400,
                 lambda: good.chat.completions.create(model=model, messages=[{"role": "robot", "content": "hi"}]),
                 param="messages[0].role")
    expect_error(openai.BadRequestError, 400,
                 lambda: good.chat.completions.create(model=model, messages=QUESTION, temperature=5), param="temperature")
    expect_error(openai.BadRequestError, 400,
                 lambda: good.chat.completions.create(model=model, messages=QUESTION, response_format={"type": "json_object"}),
                 param="response_format.type")
    expect_error(openai.BadRequestError, 400,
                 lambda: good.chat.completions.create(model=model, messages=QUESTION, tool_choice="required"), param="tool_choice")
    # Still answering afterwards.
    assert good.chat.completions.create(model=model, messages=QUESTION, max_tokens=4).choices[0].message.content


def quota():
    # A prompt no other check sent: its tokens are computed, and charged, not served from the cache.
    limited, count = client(keys[3]), [{"role": "user", "content": "Count from 1 to 100 for the quota."}]
    limited.chat.completions.create(model=model, messages=count, max_tokens=8)
    body = expect_error(openai.RateLimitError, 429, lambda: limited.chat.completions.create(model=model, messages=count, max_tokens=8),
                        code="quota_exceeded")
    assert body["type"] == "rate_limit_error" and "token budget" in body["message"], body


def disconnect():
    stream = client(keys[0]).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Write a very long story about a dragon."}], max_tokens=2000, stream=True)
    for index, _ in enumerate(stream):
        if index == 3:
            break
    stream.close()


globals()[check]()
print("ok", check)
