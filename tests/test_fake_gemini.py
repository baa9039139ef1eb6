"""The real google-genai client, over HTTP to tests/fake_gemini.py, sends and parses as expected."""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import httpx2
import pytest
from google import genai
from google.genai import errors, types

from tests.fake_gemini import (
    DEFAULT_REPLY_PREFIX,
    FakeGemini,
    FakeReply,
    blocked_prompt,
    blocked_reply,
    error,
    reply_text,
    slow,
)

API_KEY = "test-key"
MODEL = "gemini-2.5-flash"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
        monkeypatch.setenv("GEMINI_API_KEY", API_KEY)
        # Any of these in the developer's shell would send the SDK somewhere else.
        for name in (
            "GOOGLE_API_KEY",
            "GOOGLE_GENAI_USE_VERTEXAI",
            "GOOGLE_GENAI_API_VERSION",
            "GOOGLE_CLOUD_PROJECT",
            "GOOGLE_CLOUD_LOCATION",
        ):
            monkeypatch.delenv(name, raising=False)
        yield server


@pytest.fixture
def client(fake: FakeGemini) -> Iterator[genai.Client]:
    sdk = genai.Client(api_key=API_KEY)
    yield sdk
    sdk.close()


def ask(client: genai.Client, text: str = "hello") -> types.GenerateContentResponse:
    return client.models.generate_content(model=MODEL, contents=text)


def test_round_trip_sends_config_history_and_key(fake: FakeGemini, client: genai.Client) -> None:
    history = [
        types.Content(role="user", parts=[types.Part(text="hi")]),
        types.Content(role="model", parts=[types.Part(text="hello there")]),
        types.Content(role="user", parts=[types.Part(text="how are you?")]),
    ]
    config = types.GenerateContentConfig(
        system_instruction="You are terse.", temperature=0.3, max_output_tokens=100
    )

    response = client.models.generate_content(model=MODEL, contents=history, config=config)

    assert response.text == DEFAULT_REPLY_PREFIX + "how are you?"
    assert response.model_version == MODEL
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    usage = response.usage_metadata
    assert usage is not None
    # "You are terse." + "hi" + "hello there" + "how are you?" = 39 chars; reply is 27 chars.
    assert usage.prompt_token_count == 9
    assert usage.candidates_token_count == 6
    assert usage.total_token_count == 15

    [request] = fake.requests
    assert request.path == f"/v1/models/{MODEL}:generateContent"
    assert request.model == MODEL
    assert request.headers["x-goog-api-key"] == API_KEY
    assert request.headers["content-type"] == "application/json"
    assert request.body["systemInstruction"]["parts"] == [{"text": "You are terse."}]
    assert request.body["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 100}
    assert [(c["role"], c["parts"][0]["text"]) for c in request.body["contents"]] == [
        ("user", "hi"),
        ("model", "hello there"),
        ("user", "how are you?"),
    ]


def test_api_key_and_base_url_come_from_the_environment(fake: FakeGemini) -> None:
    sdk = genai.Client()
    try:
        assert ask(sdk, "ping").text == DEFAULT_REPLY_PREFIX + "ping"
    finally:
        sdk.close()
    assert fake.last_request.headers["x-goog-api-key"] == API_KEY


def test_v1beta_prefix_is_served(fake: FakeGemini) -> None:
    sdk = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(api_version="v1beta"))
    try:
        assert ask(sdk).text == DEFAULT_REPLY_PREFIX + "hello"
    finally:
        sdk.close()
    assert fake.last_request.path == f"/v1beta/models/{MODEL}:generateContent"
    assert fake.last_request.model == MODEL


def test_scripted_replies_are_fifo_then_default(fake: FakeGemini, client: genai.Client) -> None:
    fake.queue(reply_text("first", prompt_tokens=11, reply_tokens=3), FakeReply(text="second"))

    first = ask(client)
    assert first.text == "first"
    assert first.usage_metadata is not None
    assert first.usage_metadata.prompt_token_count == 11
    assert first.usage_metadata.candidates_token_count == 3
    assert first.usage_metadata.total_token_count == 14
    assert ask(client).text == "second"
    assert ask(client, "third").text == DEFAULT_REPLY_PREFIX + "third"
    assert len(fake.requests) == 3

    fake.clear()
    assert fake.requests == []


def test_rate_limit_is_a_client_error_with_retry_info(
    fake: FakeGemini, client: genai.Client
) -> None:
    fake.queue(error(429, "Quota exceeded", "RESOURCE_EXHAUSTED", retry_after_seconds=7))

    with pytest.raises(errors.ClientError) as caught:
        ask(client)

    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"
    assert caught.value.message == "Quota exceeded"
    assert caught.value.details["error"]["details"] == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
    ]
    assert caught.value.response.headers["retry-after"] == "7"
    # Without HttpRetryOptions the SDK does not retry, so the 429 was not re-sent.
    assert len(fake.requests) == 1


def test_internal_error_is_a_server_error(fake: FakeGemini, client: genai.Client) -> None:
    fake.queue(error(500, "boom"))

    with pytest.raises(errors.ServerError) as caught:
        ask(client)

    assert caught.value.code == 500
    assert caught.value.status == "INTERNAL"
    assert caught.value.message == "boom"


def test_bare_error_status_gets_google_error_shape(fake: FakeGemini, client: genai.Client) -> None:
    fake.queue(FakeReply(status=503))

    with pytest.raises(errors.ServerError) as caught:
        ask(client)

    assert caught.value.code == 503
    assert caught.value.status == "UNAVAILABLE"


def test_blocked_prompt_sets_prompt_feedback(fake: FakeGemini, client: genai.Client) -> None:
    fake.queue(blocked_prompt())

    response = ask(client)

    assert response.prompt_feedback is not None
    assert response.prompt_feedback.block_reason == types.BlockedReason.SAFETY
    assert response.candidates is None
    assert response.text is None


def test_blocked_reply_has_safety_finish_reason_and_no_text(
    fake: FakeGemini, client: genai.Client
) -> None:
    fake.queue(blocked_reply())

    response = ask(client)

    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.SAFETY
    assert response.text is None


def test_short_delay_still_answers(fake: FakeGemini, client: genai.Client) -> None:
    fake.queue(slow(0.2))
    started = time.monotonic()

    assert ask(client).text == DEFAULT_REPLY_PREFIX + "hello"
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("where", ["request", "client"])
def test_slow_reply_times_out_and_stop_does_not_wait(fake: FakeGemini, where: str) -> None:
    http_options = types.HttpOptions(timeout=300)  # milliseconds
    if where == "client":
        sdk = genai.Client(api_key=API_KEY, http_options=http_options)
        config = None
    else:
        sdk = genai.Client(api_key=API_KEY)
        config = types.GenerateContentConfig(http_options=http_options)
    fake.queue(slow(30))
    started = time.monotonic()

    try:
        # The SDK does not wrap transport errors: httpx2's own exception reaches the caller.
        with pytest.raises(httpx2.ReadTimeout):
            sdk.models.generate_content(model=MODEL, contents="hello", config=config)
    finally:
        sdk.close()

    assert time.monotonic() - started < 5
    # The SDK also tells the server its deadline, rounded up to whole seconds.
    assert fake.last_request.headers["x-server-timeout"] == "1"
    # The handler is still inside its 30 s delay; stop() must interrupt it.
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2


def test_unknown_path_is_a_google_style_404(fake: FakeGemini) -> None:
    request = urllib.request.Request(
        f"{fake.base_url}/v1/models/{MODEL}:countTokens", data=b"{}", method="POST"
    )

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)

    assert caught.value.code == 404
    body = json.loads(caught.value.read())
    assert body["error"]["code"] == 404
    assert body["error"]["status"] == "NOT_FOUND"
    assert fake.last_request.model is None


def test_stop_is_idempotent_and_fake_can_restart() -> None:
    fake = FakeGemini()
    with pytest.raises(RuntimeError):
        _ = fake.base_url
    fake.start()
    first_url = fake.base_url
    fake.stop()
    fake.stop()
    with fake:
        assert fake.base_url.startswith("http://127.0.0.1:")
    assert first_url.startswith("http://127.0.0.1:")
