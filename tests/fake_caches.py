"""The fake Gemini's `cachedContents` endpoints: create, get, patch (TTL), delete.

A cache keeps what it was made with and its token count (counted as the fake counts
a prompt); a generateContent naming it is counted with those tokens, reported as
`cachedContentTokenCount`, as Gemini does.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JsonDict = dict[str, Any]

PATH = re.compile(r"^/v1[a-z0-9]*/(?P<name>cachedContents(?:/[^/?]+)?)$")


@dataclass
class FakeCache:
    name: str
    model: str
    body: JsonDict
    tokens: int
    expires: float
    updates: int = 0
    uses: int = 0
    deleted: bool = False
    created: float = field(default_factory=time.time)

    def resource(self) -> JsonDict:
        def stamp(epoch: float) -> str:
            return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")

        return {
            "name": self.name,
            "model": self.model,
            "displayName": self.body.get("displayName", ""),
            "createTime": stamp(self.created),
            "updateTime": stamp(time.time()),
            "expireTime": stamp(self.expires),
            "usageMetadata": {"totalTokenCount": self.tokens},
        }


def _seconds(ttl: Any) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(ttl or "3600s"))
    return float(match.group(1)) if match else 3600.0


class FakeCaches:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._caches: dict[str, FakeCache] = {}
        self._ids = itertools.count(1)

    def clear(self) -> None:
        with self._lock:
            self._caches.clear()

    @property
    def all(self) -> list[FakeCache]:
        """Every cache made since the last clear, deleted ones included, oldest first."""
        with self._lock:
            return list(self._caches.values())

    def live(self) -> list[FakeCache]:
        now = time.time()
        return [cache for cache in self.all if not cache.deleted and cache.expires > now]

    def handle(self, method: str, path: str, body: JsonDict, count: Any) -> tuple[int, JsonDict]:
        """An answer to a cachedContents call; `count(body)` counts a prompt's tokens."""
        name = PATH.match(path.split("?", 1)[0])
        if name is None:
            return 404, {}
        resource = name.group("name")
        with self._lock:
            if method == "POST" and resource == "cachedContents":
                cache = FakeCache(
                    name=f"cachedContents/fake-{next(self._ids)}",
                    model=str(body.get("model", "")),
                    body=body,
                    tokens=count(body),
                    expires=time.time() + _seconds(body.get("ttl")),
                )
                self._caches[cache.name] = cache
                return 200, cache.resource()
            found = self._caches.get(resource)
            if found is None or found.deleted or found.expires <= time.time():
                return 404, {}
            if method == "GET":
                return 200, found.resource()
            if method == "PATCH":
                found.expires = time.time() + _seconds(body.get("ttl"))
                found.updates += 1
                return 200, found.resource()
            if method == "DELETE":
                found.deleted = True
                return 200, {}
        return 404, {}

    def use(self, name: str) -> FakeCache | None:
        """The live cache a generateContent names, counted as used; None if there is none."""
        with self._lock:
            cache = self._caches.get(name)
            if cache is None or cache.deleted or cache.expires <= time.time():
                return None
            cache.uses += 1
            return cache
