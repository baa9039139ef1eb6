"""Knowledge and attachments reach the model's request, through google-genai, and are kept."""

from __future__ import annotations

from chalicelib.core import aws
from chalicelib.stores.objects import ready_key
from tests.fake_gemini import FakeGemini
from tests.uploads import PDF, PNG, announce, config_owner, session_owner, upload
from tests.utils import ApiClient, assert_error


def send(api: ApiClient, session: dict, message: str, attachments: list[str]) -> dict:
    body = {"sessionId": session["sessionId"], "message": message, "attachments": attachments}
    response = api.post("/session-message", body, token=session["sessionToken"])
    assert response.status == 200, response.json
    return dict(response.json)


def test_knowledge_follows_the_system_prompt_in_every_request(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    created = api.create_chat(promptVisibility="private", systemPrompt="Secret instructions.")
    upload(api, config_owner(created), "handbook.pdf", "application/pdf", PDF)
    upload(api, config_owner(created), "facts.md", "text/markdown", b"# Facts\nThe sky is green.")
    session = api.start_session(created["chatConfigId"])
    for message in ("first", "second"):
        send(api, session, message, [])
        body = fake_gemini.last_request.body
        assert body["systemInstruction"]["parts"][0]["text"] == "Secret instructions."
        knowledge = body["contents"][0]
        assert knowledge["role"] == "user"
        texts = [part.get("text", "") for part in knowledge["parts"]]
        assert any("--- file: handbook.pdf" in text for text in texts)
        assert any("The sky is green." in text and "facts.md" in text for text in texts)
        assert fake_gemini.last_request.inline_files() == [("application/pdf", PDF)]
        assert body["contents"][-1]["parts"][-1]["text"] == message
    # The visitor sees neither the prompt nor the knowledge's names.
    visible = [
        api.get(f"/chat-config/{created['chatConfigId']}").raw,
        api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).raw,
        api.get(f"/session/{session['sessionId']}/export", token=session["sessionToken"]).raw,
    ]
    for raw in visible:
        assert b"handbook" not in raw and b"facts.md" not in raw and b"Secret" not in raw
    listed = api.get(f"/session/{session['sessionId']}/files", token=session["sessionToken"])
    assert listed.json["files"] == []
    refused = api.get(
        f"/chat-config/{created['chatConfigId']}/files", token=session["sessionToken"]
    )
    assert_error(refused, 403, "forbidden")


def test_attachments_are_sent_stored_shown_and_kept_in_context(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session()
    image = upload(api, session_owner(session), "cat.png", "image/png", PNG)
    reply = send(api, session, "What is this?", [image["fileId"]])
    attachment = {k: image[k] for k in ("fileId", "filename", "contentType", "size")}
    assert reply["userMessage"]["attachments"] == [attachment]
    assert "attachments" not in reply["reply"]
    last = fake_gemini.last_request.body["contents"][-1]
    assert [part.get("text") for part in last["parts"]][-1] == "What is this?"
    assert fake_gemini.last_request.inline_files() == [("image/png", PNG)]
    # The next send keeps the image in context with its message.
    send(api, session, "And now?", [])
    assert fake_gemini.last_request.inline_files() == [("image/png", PNG)]
    contents = fake_gemini.last_request.body["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    token = session["sessionToken"]
    view = api.get(f"/session/{session['sessionId']}", token=token).json
    assert view["messages"][0]["attachments"] == [attachment]
    exported = api.get(f"/session/{session['sessionId']}/export?format=markdown", token=token)
    assert b"*Attached: cat.png (image/png" in exported.raw
    page = api.get(f"/session/{session['sessionId']}/messages", token=token).json
    assert page["messages"][0]["attachments"] == [attachment]


def test_a_deleted_attachment_leaves_the_context_but_not_the_history(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session()
    owner = session_owner(session)
    image = upload(api, owner, "cat.png", "image/png", PNG)
    send(api, session, "look", [image["fileId"]])
    api.request("DELETE", f"{owner.base}/files/{image['fileId']}", token=owner.token)
    send(api, session, "again", [])
    assert fake_gemini.last_request.inline_files() == []
    view = api.get(f"/session/{session['sessionId']}", token=owner.token).json
    assert view["messages"][0]["attachments"][0]["filename"] == "cat.png"


def test_only_completed_files_of_the_session_can_be_attached(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    created = api.create_chat()
    session = api.start_session(created["chatConfigId"])
    other = api.start_session(created["chatConfigId"])
    theirs = upload(api, session_owner(other), "a.png", "image/png", PNG)
    knowledge = upload(api, config_owner(created), "k.pdf", "application/pdf", PDF)
    pending = announce(api, session_owner(session), "p.png", "image/png", len(PNG)).json
    for file_id in (theirs["fileId"], knowledge["fileId"], pending["fileId"], "unknown"):
        body = {"sessionId": session["sessionId"], "message": "hi", "attachments": [file_id]}
        response = api.post("/session-message", body, token=session["sessionToken"])
        assert_error(response, 409, "invalid_attachment")
        assert response.json["details"] == {"fileIds": [file_id]}
    body = {"sessionId": session["sessionId"], "message": "hi", "attachments": ["a"] * 6}
    response = api.post("/session-message", body, token=session["sessionToken"])
    assert_error(response, 400, "validation_error")
    assert fake_gemini.requests == []


def test_attachments_count_against_the_history_budget(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch
) -> None:
    monkeypatch.setenv("HISTORY_CHAR_BUDGET", "1500")
    session = api.new_session()
    image = upload(api, session_owner(session), "cat.png", "image/png", PNG)
    send(api, session, "look", [image["fileId"]])
    # The image counts as 1,032 characters: with this message, the exchange no longer fits.
    send(api, session, "x" * 500, [])
    assert fake_gemini.last_request.inline_files() == []
    assert len(fake_gemini.last_request.body["contents"]) == 1


def test_the_offline_model_says_what_files_it_received(api: ApiClient) -> None:
    created = api.create_chat()
    upload(api, config_owner(created), "handbook.pdf", "application/pdf", PDF)
    session = api.start_session(created["chatConfigId"])
    image = upload(api, session_owner(session), "cat.png", "image/png", PNG)
    reply = send(api, session, "What do you see?", [image["fileId"]])["message"]
    assert "1 knowledge file(s) of type application/pdf" in reply
    assert f"cat.png (image/png, {len(PNG)} bytes)" in reply
    assert "handbook" not in reply


def test_knowledge_objects_live_under_the_config(api: ApiClient) -> None:
    created = api.create_chat()
    done = upload(api, config_owner(created), "k.txt", "text/plain", b"k")
    key = ready_key(f"config/{created['chatConfigId']}", done["fileId"])
    from tests.conftest import BUCKET

    assert aws.get_s3_client().get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"k"


def test_a_streamed_send_carries_its_attachments(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    from tests.ws_client import send_frame, ws_connect

    session = api.new_session()
    image = upload(api, session_owner(session), "cat.png", "image/png", PNG)
    with ws_connect(ws_url) as ws:
        ws.send(send_frame(session, "Look", attachments=[image["fileId"]]))
        done = ws.until_final("r1")[-1]
    assert done["type"] == "done"
    assert done["result"]["userMessage"]["attachments"][0]["fileId"] == image["fileId"]
    assert "streamGenerateContent" in fake_gemini.last_request.path
    assert fake_gemini.last_request.inline_files() == [("image/png", PNG)]
