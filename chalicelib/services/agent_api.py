"""An agent as an OpenAI-compatible API: Models, Chat Completions and Responses.

A call is a visitor's send in another dress: the agent's settings, prompt, knowledge and
tools make the model request (exchange.py), and the creator's daily limits and the
operator's budget are reserved and settled as for a send (conversation.answer). A
completion stores nothing: its reservation is held in its API key's partition. A
response is an exchange of a session the key's agent started, whose id names that
session and reply; the session is reached through the key's agent only, so a response
id without a key of that agent opens nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.core.clients import ANONYMOUS, Caller
from chalicelib.core.errors import (
    ContentBlocked,
    ModelNotFound,
    ResponseNotFound,
    SessionNotFound,
    SharingDisabled,
    ValidationFailed,
)
from chalicelib.core.settings import Settings, get_settings
from chalicelib.core.tokens import SESSION_TOKEN_PREFIX, hash_token, is_valid_id, new_id, new_token
from chalicelib.core.tools import tools_in_force
from chalicelib.model.base import ModelReply
from chalicelib.schemas import StoredMessage
from chalicelib.schemas import openai as oa
from chalicelib.schemas.reply_format import ensure_json_usable
from chalicelib.services import exchange, storing
from chalicelib.services.configs import reservation_store
from chalicelib.services.conversation import Responder, answer, whole_reply
from chalicelib.services.keys import Agent
from chalicelib.services.sessions import session_record, session_store, start_session
from chalicelib.stores.sessions import SessionRecord
from chalicelib.stores.tree import PathView

RESPONSE_PREFIX = "resp_"


def list_models(agent: Agent) -> oa.ModelObjectList:
    return oa.ModelObjectList(data=[_model_object(agent)])


def get_model(agent: Agent, model_id: str) -> oa.ModelObject:
    _check_model(agent, model_id)
    return _model_object(agent)


def chat_completion(
    agent: Agent, request: oa.ChatCompletionCreate, who: Caller = ANONYMOUS
) -> oa.ChatCompletion:
    """A completion of the client's conversation; nothing of it is stored."""
    settings = get_settings()
    _check_model(agent, request.model)
    if not agent.config.sharing:
        raise SharingDisabled()
    instructions, earlier, text = _split(request.messages, "messages")
    session = session_record(agent.config, "")
    tokens = request.max_completion_tokens or request.max_tokens
    stops = [request.stop] if isinstance(request.stop, str) else request.stop
    session = _adjusted(session, request, tokens, stops, instructions)
    prepared = exchange.prepare_for_caller(session, earlier, text, settings, agent.key.reservations)
    prepared = _formatted(prepared, request.response_format, "response_format")
    reply = _stateless(agent, prepared, settings, who, _filtered(whole_reply(settings)))
    finish: oa.FinishReason = "content_filter" if not reply.text else "stop"
    if reply.cut_short:
        finish = "length"
    prompt, written = _token_counts(reply)
    return oa.ChatCompletion(
        id=f"chatcmpl-{new_id()}",
        created=int(time.time()),
        model=agent.config_id,
        choices=[oa.Choice(message=oa.AssistantMessage(content=reply.text), finish_reason=finish)],
        usage=oa.CompletionUsage(
            prompt_tokens=prompt, completion_tokens=written, total_tokens=prompt + written
        ),
    )


def create_response(
    agent: Agent, request: oa.ResponseCreate, who: Caller = ANONYMOUS
) -> oa.Response:
    """A reply in a conversation of the agent: a new one, or `previous_response_id`'s."""
    settings = get_settings()
    if request.model is not None:
        _check_model(agent, request.model)
    items = (
        [oa.InputMessage(role="user", content=request.input)]
        if isinstance(request.input, str)
        else request.input
    )
    instructions, earlier, text = _split(items, "input")
    if request.instructions:
        instructions.insert(0, request.instructions)
    session: SessionRecord | None = None
    held: tuple[Any, ...] = ()
    view: PathView | None = None
    if request.previous_response_id:
        view = _continued(agent, request.previous_response_id, settings)
        session, held = view.session, view.reservations
        earlier = [*earlier, *(message.message for message in view.messages)]
    if not request.store:
        base = session or session_record(agent.config, "")
        if session is None and not agent.config.sharing:
            raise SharingDisabled()
        prepared = exchange.prepare_for_caller(
            _adjusted(base, request, request.max_output_tokens, None, instructions),
            earlier,
            text,
            settings,
            agent.key.reservations,
        )
        prepared = _formatted(prepared, request.text_format, "text.format")
        reply = _stateless(agent, prepared, settings, who, whole_reply(settings))
        return _response(agent, RESPONSE_PREFIX + new_id(), reply, request, stored=False)
    if session is None:
        schema = oa.json_schema_asked(request.text_format)
        if schema is not None:
            # Refused before the conversation's session is stored, not after.
            model, tools = agent.config.model, agent.config.tools.enabled()
            in_force = tools_in_force(model, tools, settings.allowed_tools)
            ensure_json_usable(model, in_force, "text.format", with_schema=bool(schema))
        # A token no one is given: only the agent's keys reach this session.
        unused = hash_token(new_token(SESSION_TOKEN_PREFIX))
        session = start_session(agent.config, unused, who, api_key_id=agent.key.key.key_id)
    adjusted = _adjusted(session, request, request.max_output_tokens, None, instructions)
    prepared = exchange.prepare_for_caller(adjusted, earlier, text, settings, held, view)
    prepared = _formatted(prepared, request.text_format, "text.format")
    store = session_store()
    result = answer(
        prepared,
        settings,
        whole_reply(settings),
        lambda reply, settle: (
            reply,
            storing.store_exchange(store, prepared, reply, None, settle),
        ),
        who,
    )
    reply, stored = result
    response_id = f"{RESPONSE_PREFIX}{session.session_id}_{stored.reply.id}"
    return _response(agent, response_id, reply, request, stored=True)


# --- the request, as an exchange -----------------------------------------------------


def _check_model(agent: Agent, model_id: str) -> None:
    if model_id != agent.config_id:
        raise ModelNotFound(
            f"The model '{model_id}' does not exist for this API key; its agent is "
            f"'{agent.config_id}'.",
            details={"param": "model"},
        )


def _model_object(agent: Agent) -> oa.ModelObject:
    created = datetime.fromisoformat(agent.config.created_at)
    return oa.ModelObject(id=agent.config_id, created=int(created.timestamp()))


def _text(content: oa.Content) -> str:
    return content if isinstance(content, str) else "".join(part.text for part in content)


def _split(
    messages: Sequence[oa.ChatMessage | oa.InputMessage], param: str
) -> tuple[list[str], list[StoredMessage], str]:
    """The client's system and developer texts; the turns before the last, newest first;
    and the last, the user's message."""
    instructions = [_text(m.content) for m in messages if m.role in ("system", "developer")]
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not _text(turns[-1].content).strip():
        raise ValidationFailed(
            f"The last of {param} must be a user message with some text.",
            details={"fields": [{"field": param, "message": "must end with a user message"}]},
        )
    earlier = [
        StoredMessage(
            id="",
            role="user" if m.role == "user" else "model",
            content=_text(m.content),
            created_at="",
        )
        for m in reversed(turns[:-1])
    ]
    return instructions, earlier, _text(turns[-1].content)


def _adjusted(
    session: SessionRecord,
    request: oa.GenerationOptions,
    max_tokens: int | None,
    stops: list[str] | None,
    instructions: list[str],
) -> SessionRecord:
    """The session for this call (never stored): the client's instructions after the
    agent's prompt, and its settings where the agent allows overrides (else ignored)."""
    changes: dict[str, Any] = {}
    if instructions:
        changes["system_prompt"] = "\n\n".join(filter(None, [session.prompt_text, *instructions]))
    if session.allow_session_overrides:
        asked = {
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_output_tokens": max_tokens,
            "stop_sequences": stops,
        }
        changes.update({name: value for name, value in asked.items() if value is not None})
    return session.model_copy(update=changes) if changes else session


def _formatted(
    prepared: exchange.PreparedExchange,
    asked: oa.PlainFormat | oa.ChatJsonSchemaFormat | oa.ResponseJsonSchemaFormat | None,
    param: str,
) -> exchange.PreparedExchange:
    """The call's reply format where the client asks for JSON, in place of the agent's own
    (a constraint on this call's reply, so not an override the agent must allow)."""
    schema = oa.json_schema_asked(asked)
    if schema is None:
        return prepared
    request = prepared.request
    ensure_json_usable(request.model, request.tools, param, with_schema=bool(schema))
    formatted = replace(request, reply_json=True, reply_schema=schema or None)
    return replace(prepared, request=formatted)


def _continued(agent: Agent, response_id: str, settings: Settings) -> PathView:
    """The conversation a response of this agent ended, or ResponseNotFound."""
    session_id, _, reply_id = response_id.removeprefix(RESPONSE_PREFIX).partition("_")
    if not (response_id.startswith(RESPONSE_PREFIX) and is_valid_id(session_id) and reply_id):
        raise ResponseNotFound(details={"param": "previous_response_id"})
    try:
        conversation = exchange.load_conversation(session_store(), settings, session_id)
    except SessionNotFound:
        raise ResponseNotFound(details={"param": "previous_response_id"}) from None
    session = conversation.session
    if session.api_key_id is None or session.chat_config_id != agent.config_id:
        raise ResponseNotFound(details={"param": "previous_response_id"})
    newest = conversation.messages[0].message.id if conversation.messages else None
    if newest != reply_id:
        raise ValidationFailed(
            "previous_response_id must be the latest response of its conversation: "
            "a conversation here does not branch.",
            details={"fields": [{"field": "previous_response_id", "message": "not the latest"}]},
        )
    return conversation


def _filtered(responder: Responder) -> Responder:
    """A reply the safety filters blocked is an empty one (finish_reason content_filter),
    as OpenAI answers it; a blocked prompt stays an error."""

    def respond(prepared: exchange.PreparedExchange) -> ModelReply:
        try:
            return responder.respond(prepared)
        except ContentBlocked as blocked:
            if not isinstance(blocked.details, dict) or blocked.details.get("blocked") != "reply":
                raise
            return ModelReply(text="")

    return Responder(respond, responder.lease_seconds, responder.reserve_also)


def _stateless(
    agent: Agent,
    prepared: exchange.PreparedExchange,
    settings: Settings,
    who: Caller,
    responder: Responder,
) -> ModelReply:
    """The model's reply to an exchange that stores nothing, its quota held by the key."""
    reservations = reservation_store()

    def settled(reply: ModelReply, settle: Any) -> ModelReply:
        reservations.apply(settle)
        return reply

    return answer(prepared, settings, responder, settled, who, holder=agent.key.key.partition)


def _token_counts(reply: ModelReply) -> tuple[int, int]:
    """Tokens read and written, as OpenAI counts them (thinking is output)."""
    return (
        reply.prompt_tokens + reply.tool_use_prompt_tokens,
        reply.reply_tokens + reply.thinking_tokens,
    )


def _response(
    agent: Agent, response_id: str, reply: ModelReply, request: oa.ResponseCreate, stored: bool
) -> oa.Response:
    read, written = _token_counts(reply)
    return oa.Response(
        id=response_id,
        created_at=int(time.time()),
        model=agent.config_id,
        status="incomplete" if reply.cut_short else "completed",
        incomplete_details={"reason": "max_output_tokens"} if reply.cut_short else None,
        output=[oa.OutputMessage(id=f"msg_{new_id()}", content=[oa.OutputText(text=reply.text)])],
        usage=oa.ResponseUsage(
            input_tokens=read, output_tokens=written, total_tokens=read + written
        ),
        previous_response_id=request.previous_response_id,
        store=stored,
    )
