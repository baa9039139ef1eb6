"""A reply's feedback: read with the message, and changed in one transaction with the
counts of the reply's day (analytics.py).

The message item carries `feedback` ({rating, comment, updatedAt}). A change is
conditional on the rating it replaces, as last read: a change that lost a race to
another is refused, and its caller reads again and retries, so each change of rating
moves the day's `feedbackUp`/`feedbackDown` exactly once, whatever the order of
concurrent ratings and removals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from chalicelib.core import clock
from chalicelib.core.dynamo import get_item, transact
from chalicelib.schemas.insights import Feedback
from chalicelib.stores.analytics import AnalyticsStore
from chalicelib.stores.records import MESSAGE_PREFIX, partition_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class RatedMessage:
    """What a change of feedback needs of its message."""

    message_id: str
    role: str
    created_at: str
    feedback: Feedback | None

    @property
    def day(self) -> str:
        """The UTC day the reply was written: where its rating counts (today for a reply
        stored without a readable time, which the app never writes)."""
        try:
            return date.fromisoformat(self.created_at[:10]).isoformat()
        except ValueError:
            return clock.utc_now().date().isoformat()


def _key(session_id: str, message_id: str) -> dict[str, str]:
    return {"pk": partition_key(session_id), "sk": MESSAGE_PREFIX + message_id}


class FeedbackStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._analytics = AnalyticsStore(table)

    def read(self, session_id: str, message_id: str) -> RatedMessage | None:
        item = get_item(self._table, _key(session_id, message_id))
        if item is None:
            return None
        feedback = item.get("feedback")
        return RatedMessage(
            message_id,
            str(item["role"]),
            str(item["createdAt"]),
            Feedback.model_validate(feedback) if feedback else None,
        )

    def change(
        self, session_id: str, config_id: str, seen: RatedMessage, new: Feedback | None
    ) -> bool:
        """Give the message `new` feedback (None: none) and move its day's counts; False
        when its rating is no longer what `seen` read (or it is gone): read again."""
        old = seen.feedback.rating if seen.feedback else None
        names = {"#role": "role", "#feedback": "feedback"}
        values: dict[str, Any] = {":model": "model"}
        condition = "attribute_exists(sk) AND #role = :model AND "
        if old is None:
            condition += "attribute_not_exists(#feedback)"
        else:
            condition += "#feedback.#rating = :old"
            names["#rating"] = "rating"
            values[":old"] = old
        if new is None:
            expression = "REMOVE #feedback"
        else:
            expression = "SET #feedback = :feedback"
            values[":feedback"] = new.model_dump(by_alias=True, exclude_none=True)
        message = {
            "Update": {
                "TableName": self._table.name,
                "Key": _key(session_id, seen.message_id),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        counts = self._analytics.feedback_items(
            config_id, session_id, seen.message_id, seen.day, old, new
        )
        return transact(self._table, [message, *counts]) is None
