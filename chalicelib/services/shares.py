"""Read-only snapshots of a conversation (shares), one function per route.

A share copies the session's active path up to a point, as they are then, into a body of
its own (see stores/shares.py): later sends, regenerations and edits leave it as it was.
It keeps each message's role, text, time, citations, code parts and attachments' names, and the
titles and model; never a token, the session's id or the system prompt. Deleting the
session revokes its shares; deleting the agent leaves them readable, but not to continue
(`POST /chat-session` with `fromShare` answers `410 config_deleted`).
"""

from __future__ import annotations

import secrets

from chalicelib.core.clock import utc_now_iso
from chalicelib.core.errors import MessageNotFound, NothingToShare, ShareNotFound
from chalicelib.core.logs import note_ids
from chalicelib.core.settings import get_settings
from chalicelib.schemas import StoredMessage
from chalicelib.schemas.shares import (
    ShareCreate,
    ShareCreated,
    SharedAgent,
    SharedAttachment,
    SharedConversation,
    SharedMessage,
    ShareList,
    ShareSummary,
)
from chalicelib.services import branching, exchange
from chalicelib.services.configs import config_store
from chalicelib.services.sessions import session_store, share_store
from chalicelib.stores.sessions import SessionRecord
from chalicelib.stores.shares import ShareRecord

# 24 random bytes: 192 bits, 32 URL-safe characters.
SHARE_ID_BYTES = 24


def new_share_id() -> str:
    return secrets.token_urlsafe(SHARE_ID_BYTES)


def share_url(base_url: str, share_id: str) -> str:
    """The share's page, under FRONTEND_BASE_URL as an agent's share link is, else this API."""
    return f"{get_settings().frontend_base_url or base_url}/shared/{share_id}"


def _session(session_id: str, token: str) -> SessionRecord:
    session = exchange.authorize(session_store().get(session_id), token)
    note_ids(config_id=session.chat_config_id, session_id=session.session_id)
    return session


def _shared_message(message: StoredMessage) -> SharedMessage:
    files = [SharedAttachment(filename=file.filename) for file in message.attachments or ()]
    return SharedMessage(
        id=message.id,
        role=message.role,
        content=message.content,
        created_at=message.created_at,
        stopped=message.stopped,
        citations=message.citations,
        parts=message.parts,
        thoughts=message.thoughts,
        attachments=files or None,
    )


def create_share(session_id: str, token: str, request: ShareCreate, base_url: str) -> ShareCreated:
    store = session_store()
    view = store.load_view(session_id, max_messages=1)
    session = exchange.authorize(view.session if view else None, token)
    note_ids(config_id=session.chat_config_id, session_id=session.session_id)
    assert view is not None  # authorize refuses a missing session
    # The active path, as the session shows it.
    tree = branching.tree_messages(store.load_tree(session.session_id))
    messages = branching.path_to(tree, view.state.leaf)
    if request.up_to_message_id is not None:
        ids = [message.id for message in messages]
        if request.up_to_message_id not in ids:
            raise MessageNotFound(details={"upToMessageId": request.up_to_message_id})
        messages = messages[: ids.index(request.up_to_message_id) + 1]
    if not messages:
        raise NothingToShare()
    found = config_store().get(session.chat_config_id)
    share = ShareRecord(
        share_id=new_share_id(),
        session_id=session.session_id,
        created_at=utc_now_iso(),
        message_count=len(messages),
        up_to_message_id=messages[-1].id,
    )
    body = SharedConversation(
        share_id=share.share_id,
        title=session.title,
        agent=SharedAgent(
            chat_config_id=session.chat_config_id,
            title=found[0].title if found else session.title,
            model=session.model,
        ),
        messages=[_shared_message(message) for message in messages],
        created_at=share.created_at,
    )
    share_store().create(share, body, get_settings().limit_shares_per_session)
    return ShareCreated(
        share_id=share.share_id,
        url=share_url(base_url, share.share_id),
        created_at=share.created_at,
        message_count=share.message_count,
    )


def get_share(share_id: str) -> SharedConversation:
    shared = find_share(share_id)
    if shared is None:
        raise ShareNotFound()
    return shared


def find_share(share_id: str) -> SharedConversation | None:
    """The share, or None (for its page, which says so)."""
    return share_store().get(share_id)


def list_shares(session_id: str, token: str, base_url: str) -> ShareList:
    session = _session(session_id, token)
    return ShareList(
        shares=[
            ShareSummary(
                share_id=share.share_id,
                url=share_url(base_url, share.share_id),
                created_at=share.created_at,
                message_count=share.message_count,
                up_to_message_id=share.up_to_message_id,
            )
            for share in share_store().list(session.session_id)
        ]
    )


def revoke_share(session_id: str, token: str, share_id: str) -> None:
    session = _session(session_id, token)
    share_store().delete(session.session_id, share_id)
