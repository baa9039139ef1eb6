"""(i) Conversations as trees: what a send costs after many branches, an edit deep in a
long conversation, and a switch, counted through the app's real routes.

Every figure is counted (calls, and the bytes of their bodies) by the same hooks as (a),
against moto, with the fake Gemini answering. The branches are made by real edits of
one early message; the long conversation is seeded in the store's own item format from
before trees (no `parentId`), as (a) seeds it, then read as one path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bench.counting import CallCounter
from bench.stack import REPLY_CHARS, USER_CHARS, Session, Stack, local_stack, text_of
from bench.storage import SendCost
from chalicelib.core.settings import get_settings
from tests.fake_gemini import FakeGemini, reply_text

log = logging.getLogger(__name__)

BRANCHES = 100
# Exchanges seeded before the edit: it names the user message after 2,000 others.
DEPTH_EXCHANGES = 1000


@dataclass(frozen=True)
class TreeCosts:
    branches: int
    # The first send on the newest of the branches, and a send once that branch holds a
    # send's whole history (HISTORY_MAX_MESSAGES + 1 messages).
    young_send: SendCost
    established_send: SendCost
    # The same send on a session that never forked, at the same depth.
    straight_send: SendCost
    edit_depth: int
    edit: SendCost
    # "‹": from the newest of the versions to the one before, and to the first.
    step_back: SendCost
    step_first: SendCost
    # Back to the edited message's old branch, and on to its sibling again.
    switch_back: SendCost
    switch_again: SendCost
    history_max_messages: int

    def lines(self) -> list[str]:
        def row(label: str, cost: SendCost) -> str:
            operations = ", ".join(cost.operations)
            return (
                f"{label:<44}{cost.dynamodb_calls:>5} {cost.request_bytes:>9,} "
                f"{cost.response_bytes:>9,} {cost.write_units:>5} {cost.read_units:>5}  "
                f"{operations}"
            )

        return [
            "(i) Conversations as trees: DynamoDB calls, body bytes written and read, and "
            "capacity units",
            f"{'':44}{'calls':>5} {'written':>9} {'read':>9} {'WCU':>5} {'RCU':>5}  operations",
            row(f"send, first after {self.branches} branches", self.young_send),
            row(f"send after {self.branches} branches, branch settled", self.established_send),
            row("send, same depth, never branched", self.straight_send),
            row(
                f"step (sibling) from version {self.branches} to {self.branches - 1}",
                self.step_back,
            ),
            row(f"step (sibling) from version {self.branches - 1} to 1", self.step_first),
            row(f"edit of the message after {self.edit_depth:,} others", self.edit),
            row("switch to the edited message's old branch", self.switch_back),
            row("switch to the edit's branch again", self.switch_again),
            f"{'':10}a branch is settled once it holds HISTORY_MAX_MESSAGES "
            f"({self.history_max_messages}) + 1 messages; until then a send's history reaches "
            "into the run before it (one Query more)",
            "",
        ]


def _edit(stack: Stack, session: Session, message_id: str, text: str) -> dict[str, Any]:
    path = f"/session/{session.session_id}/messages/{message_id}/edit"
    return stack.post(path, {"message": text}, session.token)


def _switch(
    stack: Stack, session: Session, message_id: str, sibling: int | None = None
) -> dict[str, Any]:
    path = f"/session/{session.session_id}/active"
    body: dict[str, Any] = {"messageId": message_id}
    if sibling is not None:
        body["sibling"] = sibling
    return stack.call("PUT", path, body, session.token)


def _step(
    stack: Stack, counter: CallCounter, session: Session, message_id: str, sibling: int
) -> SendCost:
    with counter.measure() as measured:
        _switch(stack, session, message_id, sibling)
    return SendCost.of(measured.by_service, stack.stored_size)


def _measured_send(
    stack: Stack, counter: CallCounter, fake: FakeGemini, session: Session
) -> SendCost:
    fake.queue(reply_text(text_of(REPLY_CHARS, "reply")))
    with counter.measure() as measured:
        stack.send(session, text_of(USER_CHARS, "q"))
    return SendCost.of(measured.by_service, stack.stored_size)


def _branches(stack: Stack, counter: CallCounter, fake: FakeGemini) -> tuple[SendCost, ...]:
    """Sends on the newest of BRANCHES versions of one early message (the first and
    BRANCHES - 1 edits), and the same on a session that never branched, as deep as the
    settled branch."""
    settle = get_settings().history_max_messages // 2 + 1
    session = stack.new_session()
    stack.send(session, text_of(USER_CHARS, "q"))
    edited = stack.send(session, text_of(USER_CHARS, "q"))["userMessage"]["id"]
    for number in range(BRANCHES - 1):
        # Each edit's new version is on the path, its old one not: the next edits that.
        edit = _edit(stack, session, edited, text_of(USER_CHARS, f"edit{number}"))
        edited = edit["userMessage"]["id"]
    young = _measured_send(stack, counter, fake, session)
    for _ in range(settle):
        stack.send(session, text_of(USER_CHARS, "q"))
    established = _measured_send(stack, counter, fake, session)
    back = _step(stack, counter, session, edited, BRANCHES - 2)
    first = _step(stack, counter, session, edited, 0)
    straight = stack.new_session()
    for _ in range(settle + 3):
        stack.send(straight, text_of(USER_CHARS, "q"))
    return young, established, _measured_send(stack, counter, fake, straight), back, first


def _deep_edit(stack: Stack, counter: CallCounter, fake: FakeGemini) -> tuple[SendCost, ...]:
    """An edit of the user message after DEPTH_EXCHANGES seeded exchanges, then the
    switches back to its old branch and to the edit's again."""
    session = stack.new_session()
    stack.seed_history(session, DEPTH_EXCHANGES)
    sent = stack.send(session, text_of(USER_CHARS, "q"))
    old_id = sent["userMessage"]["id"]
    fake.queue(reply_text(text_of(REPLY_CHARS, "reply")))
    with counter.measure() as measured:
        edited = _edit(stack, session, old_id, text_of(USER_CHARS, "edited"))
    edit = SendCost.of(measured.by_service, stack.stored_size)
    with counter.measure() as measured:
        _switch(stack, session, old_id)
    back = SendCost.of(measured.by_service, stack.stored_size)
    with counter.measure() as measured:
        _switch(stack, session, edited["userMessage"]["id"])
    again = SendCost.of(measured.by_service, stack.stored_size)
    return edit, back, again


def run(counter: CallCounter) -> TreeCosts:
    with FakeGemini() as fake:
        extra = {"GEMINI_API_KEY": "bench-key", "GOOGLE_GEMINI_BASE_URL": fake.base_url}
        with local_stack(extra) as stack:
            young, established, straight, back_step, first_step = _branches(stack, counter, fake)
            log.info("trees, sends after %d branches: %s, %s", BRANCHES, young, established)
        # On a fresh table, as (a) seeds its long conversations.
        with local_stack(extra) as stack:
            edit, back, again = _deep_edit(stack, counter, fake)
            log.info("trees, edit at depth %d: %s", 2 * DEPTH_EXCHANGES, edit)
        history = get_settings().history_max_messages
    return TreeCosts(
        BRANCHES,
        young,
        established,
        straight,
        2 * DEPTH_EXCHANGES,
        edit,
        back_step,
        first_step,
        back,
        again,
        history,
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    log.setLevel(logging.INFO)
    counting = CallCounter()
    counting.install()
    try:
        print("\n".join(run(counting).lines()))
    finally:
        counting.uninstall()
