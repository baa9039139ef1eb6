"""usage.cachedTokens is Gemini's cachedContentTokenCount whatever cached the tokens: here
Gemini's implicit caching, with no context cache named, whole and streamed."""

from __future__ import annotations

from tests.fake_gemini import FakeGemini, FakeReply
from tests.utils import ApiClient
from tests.ws_client import ws_connect


def test_implicitly_cached_tokens_are_reported(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    fake_gemini.queue(FakeReply(implicit_cached_tokens=2048))
    sent = api.send(session, "Hi").json
    assert "cachedContent" not in fake_gemini.last_request.body
    assert sent["usage"]["cachedTokens"] == 2048
    assert sent["usage"]["promptTokens"] >= 2048
    fake_gemini.queue(FakeReply(chunks=("Hello", " again"), implicit_cached_tokens=1024))
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Hi again")
    assert frames[-1]["result"]["usage"]["cachedTokens"] == 1024
    # None cached: the field is left out, as before.
    assert "cachedTokens" not in api.send(session, "And again").json["usage"]
