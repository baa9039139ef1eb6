"""(h) Input per message for an agent with 600 pages of knowledge (a text of about 1.8 MB)
sent inline (`knowledgeMode: context`, no cache), through its context cache, and searched
in a File Search store (`knowledgeMode: search`).

Through the real routes, with the real google-genai client talking to the fake Gemini.
Every figure comes from what the fake received or reported, not from the app: the bytes
of each generateContent request as it arrived, the prompt tokens the fake counted in it
(a quarter of its characters), those it read from a cache, and the tokens of the
passages its File Search retrieved (reported as tool-use prompt tokens, as Gemini does).
"Input billed in full" is prompt less cached plus retrieved.

`python -m bench.knowledge_search` runs this part alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bench.knowledge import _agent
from bench.stack import local_stack
from tests.fake_gemini import FakeGemini
from tests.uploads import handbook

log = logging.getLogger(__name__)

PAGES = 600
SESSIONS = 2
MESSAGES = 3
MODES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("inline", "context", {"CONTEXT_CACHE_MIN_TOKENS": "100000000"}),
    ("context cache", "context", {}),
    ("File Search", "search", {}),
)


@dataclass(frozen=True)
class Run:
    name: str
    request_bytes: list[int]  # per message, as the fake received them
    prompt_tokens: list[int]  # as the fake counted and reported them
    cached_tokens: list[int]
    retrieved_tokens: list[int]
    # Once per agent: bytes uploaded into its store, tokens put in its cache.
    uploaded_bytes: int
    cache_tokens: int

    @staticmethod
    def mean(values: list[int]) -> float:
        return sum(values) / len(values)

    @property
    def billed_in_full(self) -> list[int]:
        rows = zip(self.prompt_tokens, self.cached_tokens, self.retrieved_tokens, strict=True)
        return [prompt - cached + retrieved for prompt, cached, retrieved in rows]


def _run(fake: FakeGemini, name: str, mode: str, env: dict[str, str], text: bytes) -> Run:
    env = {**env, "GOOGLE_GEMINI_BASE_URL": fake.base_url, "GEMINI_API_KEY": "bench-key"}
    fake.clear()
    with local_stack(env) as stack:
        created = _agent(stack, text, "handbook.txt", "text/plain", knowledgeMode=mode)
        before = len(fake.requests)
        usages = []
        for number in range(SESSIONS):
            session = stack.post("/chat-session", {"chatConfigId": created["chatConfigId"]})
            for message in range(MESSAGES):
                body = {
                    "sessionId": session["sessionId"],
                    "message": f"How is the valve on deck {100 * number + message + 1} opened?",
                }
                usages.append(
                    stack.post("/session-message", body, session["sessionToken"])["usage"]
                )
    sent = [r for r in fake.requests[before:] if r.path.split("?")[0].endswith("enerateContent")]
    if len(sent) != len(usages):
        raise RuntimeError(f"{name}: {len(sent)} model requests for {len(usages)} messages")
    caches = fake.caches.all
    return Run(
        name,
        [request.size for request in sent],
        [usage["promptTokens"] for usage in usages],
        [usage.get("cachedTokens", 0) for usage in usages],
        [usage.get("toolUsePromptTokens", 0) for usage in usages],
        fake.file_search.uploaded_bytes,
        caches[0].tokens if caches else 0,
    )


@dataclass(frozen=True)
class KnowledgeSearch:
    runs: tuple[Run, ...]

    def lines(self) -> list[str]:
        out = [
            f"(h) Input per message: an agent with {PAGES} pages of knowledge (text), "
            f"{SESSIONS} sessions x {MESSAGES} messages, as the fake Gemini received and counted",
            "                   request bytes  prompt tokens  from cache  retrieved"
            "  billed in full",
        ]
        for run in self.runs:
            out.append(
                f"  {run.name:<15}{run.mean(run.request_bytes):>14,.0f}"
                f"{run.mean(run.prompt_tokens):>15,.0f}{run.mean(run.cached_tokens):>12,.0f}"
                f"{run.mean(run.retrieved_tokens):>11,.0f}{run.mean(run.billed_in_full):>16,.0f}"
            )
        inline, cached, search = self.runs
        ratio = inline.mean(inline.billed_in_full) / max(1.0, search.mean(search.billed_in_full))
        out.extend(
            (
                f"          means per message; once per agent: the cache holds "
                f"{cached.cache_tokens:,} tokens, the store took {search.uploaded_bytes:,} bytes; "
                f"billed in full, inline / search: {ratio:.0f}x",
                "          (cache reads are billed at a reduced rate, the cache by the hour; "
                "the fake retrieves 3 passages of 2,000 characters, Gemini what it finds useful)",
            )
        )
        return out


def run() -> KnowledgeSearch:
    text = handbook(PAGES)
    with FakeGemini() as fake:
        runs = []
        for name, mode, env in MODES:
            log.info("(h) 600 pages: %s", name)
            runs.append(_run(fake, name, mode, env, text))
    return KnowledgeSearch(tuple(runs))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    print("\n".join(run().lines()))
