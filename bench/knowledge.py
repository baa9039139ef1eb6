"""(f) Input tokens per message for an agent with 50 pages of knowledge, with and without
its context cache, as the fake Gemini counts them (258 tokens a PDF page, as Gemini does;
a quarter of the characters of text).

Through the real routes: the agent's PDF is uploaded with a presigned POST to moto and
completed; each run opens SESSIONS sessions and sends MESSAGES messages in each, with the
real google-genai client talking to the fake Gemini. Without the cache every request
carries the PDF; with it, the first send makes one cache and every request names it.
"Billed in full" is the prompt less the tokens read from the cache (which Gemini bills
at a reduced rate, plus storage per hour).

`python -m bench.knowledge` runs this part alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from bench.stack import Stack, local_stack
from tests.fake_gemini import FakeGemini

log = logging.getLogger(__name__)

PAGES = 50
SESSIONS = 3
MESSAGES = 4
PROMPT = "Answer questions about the handbook; quote its page numbers."


def handbook_pdf(pages: int = PAGES) -> bytes:
    """A PDF of `pages` pages, each with a paragraph of text."""
    objects = [b"%PDF-1.4\n"]
    for page in range(pages):
        text = f"Page {page + 1}. " + "The handbook says many useful things. " * 40
        objects.append(
            f"{page + 3} 0 obj\n<< /Type /Page /Parent 2 0 R >>\nstream\n{text}\nendstream\n"
            "endobj\n".encode()
        )
    objects.append(b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    return b"".join(objects)


@dataclass(frozen=True)
class Run:
    cached: bool
    prompt_tokens: list[int]  # per message, as the fake reported them
    cached_tokens: list[int]
    cache_tokens: int  # what the cache holds (0 without one)
    caches_made: int

    @property
    def billed_in_full(self) -> list[int]:
        return [p - c for p, c in zip(self.prompt_tokens, self.cached_tokens, strict=True)]

    def mean(self, values: list[int]) -> float:
        return sum(values) / len(values)


def _post_json(stack: Stack, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    return stack.post(path, body, token)


def _agent(
    stack: Stack,
    data: bytes,
    filename: str = "handbook.pdf",
    content_type: str = "application/pdf",
    **fields: Any,
) -> dict[str, Any]:
    created = stack.post(
        "/create-chat",
        {
            "title": "Handbook",
            "model": "gemini-2.5-flash",
            "systemPrompt": PROMPT,
            "temperature": 0,
            **fields,
        },
    )
    base, token = f"/chat-config/{created['chatConfigId']}/files", created["editToken"]
    body = {"filename": filename, "contentType": content_type, "size": len(data)}
    started = _post_json(stack, base, body, token)
    form = started["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": data}, timeout=30)
    posted.raise_for_status()
    _post_json(stack, f"{base}/{started['fileId']}/complete", {}, token)
    return created


def _run(fake: FakeGemini, cached: bool, pdf: bytes) -> Run:
    # The threshold decides: its default, or far above this agent's context.
    env = {} if cached else {"CONTEXT_CACHE_MIN_TOKENS": "100000000"}
    env.update(GOOGLE_GEMINI_BASE_URL=fake.base_url, GEMINI_API_KEY="bench-key")
    fake.clear()
    prompts, reads = [], []
    with local_stack(env) as stack:
        created = _agent(stack, pdf)
        for number in range(SESSIONS):
            session = stack.post("/chat-session", {"chatConfigId": created["chatConfigId"]})
            for message in range(MESSAGES):
                sent = stack.post(
                    "/session-message",
                    {"sessionId": session["sessionId"], "message": f"Question {number}.{message}?"},
                    session["sessionToken"],
                )
                prompts.append(int(sent["usage"]["promptTokens"]))
                reads.append(int(sent["usage"].get("cachedTokens", 0)))
    caches = fake.caches.all
    return Run(cached, prompts, reads, caches[0].tokens if caches else 0, len(caches))


@dataclass(frozen=True)
class Knowledge:
    inline: Run
    cached: Run

    def lines(self) -> list[str]:
        out = [
            f"(f) Input tokens per message: an agent with {PAGES} pages of knowledge (a PDF), "
            f"{SESSIONS} sessions x {MESSAGES} messages, as the fake Gemini counts them",
            "                      prompt tokens   read from cache   billed in full   caches made",
        ]
        for name, run in (("inline", self.inline), ("context cache", self.cached)):
            out.append(
                f"  {name:<18}{run.mean(run.prompt_tokens):>14,.0f}"
                f"{run.mean(run.cached_tokens):>18,.0f}{run.mean(run.billed_in_full):>17,.0f}"
                f"{run.caches_made:>14}"
            )
        ratio = self.inline.mean(self.inline.billed_in_full) / max(
            1.0, self.cached.mean(self.cached.billed_in_full)
        )
        out.append(
            f"          means per message; the cache holds {self.cached.cache_tokens:,} tokens; "
            f"tokens billed in full, inline / cached: {ratio:.1f}x"
        )
        return out


def run() -> Knowledge:
    pdf = handbook_pdf()
    with FakeGemini() as fake:
        log.info("(f) knowledge inline")
        inline = _run(fake, False, pdf)
        log.info("(f) knowledge through the context cache")
        cached = _run(fake, True, pdf)
    return Knowledge(inline, cached)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    print("\n".join(run().lines()))
