"""Fake Gemini REST API on localhost, for driving the real google-genai SDK.

Answers generateContent with JSON and streamGenerateContent (`?alt=sse`) with
server-sent events: a controllable delay between chunks, a failure after N chunks,
a safety block mid-stream, or a gate where the stream waits for the test. A reply may
carry grounding metadata (Google Search's sources, as Gemini sends them: on the last
chunk of a stream), tool-use and thinking token counts, and parts of its own (code
execution's code and results, thought summaries: one per chunk of a stream). Asked for
JSON (responseMimeType), it answers JSON text: `json_reply`'s, or its default reply as a
JSON string.
"""

import base64
import json
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from tests.fake_caches import PATH as CACHE_PATH
from tests.fake_caches import FakeCaches
from tests.fake_file_search import FakeFileSearch

JsonDict = dict[str, Any]

# The SDK prefixes the path with its api_version (v1 by default in google-genai 3.x, v1beta
# when GOOGLE_GENAI_API_VERSION=beta), so any v1* version is accepted.
_GENERATE_CONTENT = re.compile(
    r"^/(?P<version>v1[a-z0-9]*)/models/(?P<model>[^/:?]+):(?P<method>generateContent|streamGenerateContent)$"
)

# Canonical google.rpc.Code names, so errors look like the ones Google sends.
_STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_REPLY_PREFIX = "fake reply to: "
# A trickled body goes out in this many pieces, evenly spaced.
_TRICKLE_PIECES = 20


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    model: str | None
    headers: dict[str, str]
    body: JsonDict
    # Bytes of the request's body, as received.
    size: int = 0

    def inline_files(self) -> list[tuple[str, bytes]]:
        """(mime type, bytes) of every inline_data part of the contents, in order."""
        found = []
        for content in self.body.get("contents") or []:
            for part in content.get("parts") or [] if isinstance(content, dict) else []:
                data = part.get("inlineData") if isinstance(part, dict) else None
                if isinstance(data, dict):
                    found.append((mime_type(data), decode_data(data.get("data"))))
        return found

    def texts(self) -> list[str]:
        """Every text part of the contents, in order."""
        contents = self.body.get("contents") or []
        return [text for content in contents for text in _texts(content)]


@dataclass(frozen=True)
class FakeReply:
    """One scripted answer; with neither body nor text, a 200 gets the default reply."""

    status: int = 200
    body: JsonDict | None = None
    text: str | None = None
    delay_seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    # Pin usage metadata for assertions instead of the counts derived from text lengths.
    prompt_tokens: int | None = None
    reply_tokens: int | None = None
    # Bytes sent as they are, in place of a JSON body: an answer the SDK cannot read.
    raw: bytes | None = None
    content_type: str = "application/json; charset=UTF-8"
    # Send the body a few bytes at a time, spread over this many seconds.
    trickle_seconds: float = 0.0
    # Streaming only: the reply's pieces (default: the text, word by word), the pause
    # before each piece after the first one, and a mid-stream failure or safety block.
    chunks: tuple[str, ...] | None = None
    first_chunk_delay_seconds: float = 0.0
    chunk_delay_seconds: float = 0.0
    fail_after_chunks: int | None = None
    fail_status: int = 500
    block_after_chunks: int | None = None
    # The candidate's groundingMetadata, in Gemini's wire format (see grounding_metadata).
    grounding: JsonDict | None = None
    # usageMetadata's toolUsePromptTokenCount and thoughtsTokenCount, when given.
    tool_use_prompt_tokens: int | None = None
    thoughts_tokens: int | None = None
    # Tokens Gemini's implicit caching served (no cache named): cachedContentTokenCount.
    implicit_cached_tokens: int = 0
    # The candidate's parts in Gemini's wire format, in place of one text part.
    parts: tuple[JsonDict, ...] | None = None
    # Streaming only: after this many chunks, wait for open_gate() (a test's look at the
    # reply half-way, without a race against a delay).
    gate_after_chunks: int | None = None


def code_part(code: str, language: str = "PYTHON") -> JsonDict:
    return {"executableCode": {"language": language, "code": code}}


def code_result_part(output: str, outcome: str = "OUTCOME_OK") -> JsonDict:
    return {"codeExecutionResult": {"outcome": outcome, "output": output}}


def thought_part(text: str) -> JsonDict:
    """A thought summary, as Gemini sends one when asked to (includeThoughts)."""
    return {"text": text, "thought": True}


def with_parts(
    *parts: JsonDict | str, thoughts_tokens: int | None = None, gate_after: int | None = None
) -> FakeReply:
    """A reply of these parts in order; a string is a text part. Streamed, each part is a
    chunk, and with `gate_after` the stream waits after that many for open_gate()."""
    return FakeReply(
        parts=tuple({"text": p} if isinstance(p, str) else p for p in parts),
        thoughts_tokens=thoughts_tokens,
        gate_after_chunks=gate_after,
    )


def json_reply(value: Any, *, chunks: int = 0) -> FakeReply:
    """A reply of `value` as JSON text, as Gemini writes one asked for JSON
    (responseMimeType); streamed in `chunks` even pieces when given."""
    text = json.dumps(value)
    if not chunks:
        return FakeReply(text=text)
    size = -(-len(text) // chunks)
    return FakeReply(text=text, chunks=tuple(text[i : i + size] for i in range(0, len(text), size)))


def _asks_json(body: JsonDict) -> bool:
    config = body.get("generationConfig")
    return isinstance(config, dict) and config.get("responseMimeType") == "application/json"


def grounding_metadata(
    sources: list[tuple[str, str]],
    supports: Sequence[tuple[int, int, list[int]]] = (),
    queries: Sequence[str] = (),
) -> JsonDict:
    """groundingMetadata as Gemini sends it: web chunks (title, uri), the supported
    segments (start, end, chunk indexes), and the search queries."""
    return {
        "groundingChunks": [{"web": {"uri": uri, "title": title}} for title, uri in sources],
        "groundingSupports": [
            {
                "segment": {"startIndex": start, "endIndex": end, "text": "..."},
                "groundingChunkIndices": indexes,
            }
            for start, end, indexes in supports
        ],
        "webSearchQueries": list(queries),
        "searchEntryPoint": {"renderedContent": "<div>fake search chip</div>"},
    }


def grounded(
    text: str,
    grounding: JsonDict,
    *,
    tool_use_prompt_tokens: int | None = None,
    thoughts_tokens: int | None = None,
) -> FakeReply:
    """A reply with grounding metadata and, if given, tool-use and thinking token counts."""
    return FakeReply(
        text=text,
        grounding=grounding,
        tool_use_prompt_tokens=tool_use_prompt_tokens,
        thoughts_tokens=thoughts_tokens,
    )


def streamed(
    *chunks: str,
    first_delay: float = 0.0,
    delay: float = 0.0,
    fail_after: int | None = None,
    fail_status: int = 500,
    block_after: int | None = None,
) -> FakeReply:
    """A streamed reply in these pieces, `delay` seconds apart after `first_delay`."""
    return FakeReply(
        chunks=chunks,
        first_chunk_delay_seconds=first_delay,
        chunk_delay_seconds=delay,
        fail_after_chunks=fail_after,
        fail_status=fail_status,
        block_after_chunks=block_after,
    )


def reply_text(
    text: str, prompt_tokens: int | None = None, reply_tokens: int | None = None
) -> FakeReply:
    return FakeReply(text=text, prompt_tokens=prompt_tokens, reply_tokens=reply_tokens)


def error(
    status: int,
    message: str = "fake error",
    status_name: str | None = None,
    *,
    retry_after_seconds: int | None = None,
) -> FakeReply:
    payload: JsonDict = {
        "code": status,
        "message": message,
        "status": status_name or _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    headers: dict[str, str] = {}
    if retry_after_seconds is not None:
        payload["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{retry_after_seconds}s",
            }
        ]
        headers["Retry-After"] = str(retry_after_seconds)
    return FakeReply(status=status, body={"error": payload}, headers=headers)


def api_key_invalid() -> FakeReply:
    """What Gemini answers a key that is not valid (a typo, a revoked key)."""
    message = "API key not valid. Please pass a valid API key."
    payload: JsonDict = {
        "code": 400,
        "message": message,
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": message,
            },
        ],
    }
    return FakeReply(status=400, body={"error": payload})


def blocked_prompt(reason: str = "SAFETY", category: str = "HARM_CATEGORY_HARASSMENT") -> FakeReply:
    rating = {"category": category, "probability": "HIGH", "blocked": True}
    return FakeReply(
        body={
            "promptFeedback": {"blockReason": reason, "safetyRatings": [rating]},
            "usageMetadata": {"promptTokenCount": 1, "totalTokenCount": 1},
        }
    )


def blocked_reply(category: str = "HARM_CATEGORY_HARASSMENT") -> FakeReply:
    # Google omits `content` entirely when a candidate is stopped for safety.
    return FakeReply(
        body={
            "candidates": [
                {
                    "finishReason": "SAFETY",
                    "index": 0,
                    "safetyRatings": [
                        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
                        {"category": category, "probability": "HIGH", "blocked": True},
                    ],
                }
            ],
            "usageMetadata": {"promptTokenCount": 1, "totalTokenCount": 1},
        }
    )


def slow(seconds: float) -> FakeReply:
    return FakeReply(delay_seconds=seconds)


def trickled(seconds: float, text: str | None = None) -> FakeReply:
    """A normal reply whose body arrives bit by bit over `seconds`: no single read is slow."""
    return FakeReply(text=text, trickle_seconds=seconds)


def raw_body(
    data: str | bytes, content_type: str = "application/json; charset=UTF-8", status: int = 200
) -> FakeReply:
    """Exactly these bytes as the answer, readable or not."""
    raw = data.encode() if isinstance(data, str) else data
    return FakeReply(status=status, raw=raw, content_type=content_type)


def token_count(text: str) -> int:
    return max(1, len(text) // 4)


def mime_type(data: JsonDict) -> str:
    # Proto JSON takes either spelling; google-genai sends the snake_case one.
    return str(data.get("mimeType") or data.get("mime_type"))


def decode_data(value: Any) -> bytes:
    """Inline data's bytes: base64 in either alphabet, padded or not (the SDK sends URL-safe)."""
    text = str(value or "").replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


# Gemini's documented cost of an image, and of each page of a PDF.
IMAGE_TOKENS = 258


def inline_tokens(part: Any) -> int:
    """Tokens of an inline_data part: 258 an image, 258 a PDF page (counted by its /Page
    objects), a quarter of the bytes anything else."""
    data = part.get("inlineData") if isinstance(part, dict) else None
    if not isinstance(data, dict):
        return 0
    raw = decode_data(data.get("data"))
    mime = mime_type(data)
    if mime.startswith("image/"):
        return IMAGE_TOKENS
    if mime == "application/pdf":
        return IMAGE_TOKENS * max(1, len(re.findall(rb"/Type\s*/Page[^s]", raw)))
    return len(raw) // 4


def _texts(content: Any) -> list[str]:
    if not isinstance(content, dict):
        return []
    parts = content.get("parts")
    if not isinstance(parts, list):
        return []
    return [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]


def _last_user_text(body: JsonDict) -> str:
    contents = body.get("contents")
    if not isinstance(contents, list):
        return ""
    for content in reversed(contents):
        # The API treats a missing role as "user".
        if isinstance(content, dict) and content.get("role", "user") == "user":
            return "".join(_texts(content))
    return ""


def _prompt_text(body: JsonDict) -> str:
    contents = body.get("contents")
    pieces = _texts(body.get("systemInstruction"))
    if isinstance(contents, list):
        for content in contents:
            pieces.extend(_texts(content))
    return "".join(pieces)


def _prompt_tokens(body: JsonDict) -> int:
    contents = body.get("contents")
    parts = [
        part
        for content in (contents if isinstance(contents, list) else [])
        if isinstance(content, dict)
        for part in content.get("parts") or []
    ]
    return token_count(_prompt_text(body)) + sum(inline_tokens(part) for part in parts)


def build_reply_body(
    model: str,
    request_body: JsonDict,
    text: str | None = None,
    prompt_tokens: int | None = None,
    reply_tokens: int | None = None,
    reply: FakeReply | None = None,
    cached_tokens: int = 0,
) -> JsonDict:
    """The JSON generateContent answers with; text defaults to one derived from the request.
    `reply` adds its grounding metadata and extra token counts; `cached_tokens`, of a
    context cache the request names, count in the prompt too."""
    parts = list(reply.parts) if reply is not None and reply.parts is not None else None
    if parts is not None:
        text = "".join(str(part.get("text", "")) for part in parts if not part.get("thought"))
    if text is None:
        text = DEFAULT_REPLY_PREFIX + _last_user_text(request_body)
        # Asked for JSON, the default reply is that text as a JSON string.
        text = json.dumps(text) if _asks_json(request_body) else text
    prompt = prompt_tokens if prompt_tokens is not None else _prompt_tokens(request_body)
    prompt += cached_tokens
    written = reply_tokens if reply_tokens is not None else token_count(text)
    usage: JsonDict = {"promptTokenCount": prompt, "candidatesTokenCount": written}
    extra = {
        "toolUsePromptTokenCount": reply.tool_use_prompt_tokens if reply else None,
        "thoughtsTokenCount": reply.thoughts_tokens if reply else None,
    }
    usage.update({name: count for name, count in extra.items() if count is not None})
    usage["totalTokenCount"] = sum(usage.values())
    if cached_tokens:
        usage["cachedContentTokenCount"] = cached_tokens
    candidate: JsonDict = {
        "content": {"role": "model", "parts": parts or [{"text": text}]},
        "finishReason": "STOP",
        "index": 0,
    }
    if reply is not None and reply.grounding is not None:
        candidate["groundingMetadata"] = reply.grounding
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": "fake-response",
    }


def _stream_chunk(
    model: str,
    piece: str | JsonDict,
    usage: JsonDict,
    *,
    finished: bool,
    grounding: JsonDict | None = None,
) -> JsonDict:
    part = {"text": piece} if isinstance(piece, str) else piece
    candidate: JsonDict = {"content": {"role": "model", "parts": [part]}, "index": 0}
    if finished:
        candidate["finishReason"] = "STOP"
        # Gemini sends the grounding metadata with the last chunk, for the whole reply.
        if grounding is not None:
            candidate["groundingMetadata"] = grounding
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model}


def _blocked_chunk() -> JsonDict:
    return blocked_reply().body or {}


def _error_body(status: int, message: str) -> JsonDict:
    return {
        "error": {
            "code": status,
            "message": message,
            "status": _STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }


_GATE = object()
# How long a gated stream waits for open_gate() before it gives up (and the test fails).
_GATE_SECONDS = 30


class _Server(ThreadingHTTPServer):
    def __init__(self, fake: "FakeGemini") -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    # Tokens of the context cache the request being answered names.
    _cached_tokens = 0
    # HTTP/1.0 closes the socket after every reply; with keep-alive, idle handler threads would
    # block in readline and make server_close() (which joins them) wait for the client.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        fake = server.fake
        path = self.path.split("?", 1)[0]
        match = _GENERATE_CONTENT.match(path)
        model = match.group("model") if match else None

        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed: Any = json.loads(raw) if raw else {}
        except ValueError:
            parsed = None
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            # Header names are case-insensitive on the wire; lowercase them for easy lookups.
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        body: JsonDict = parsed if isinstance(parsed, dict) else {}
        fake._record(
            RecordedRequest(path=self.path, model=model, headers=headers, body=body, size=len(raw))
        )
        if match is None and fake.file_search.handles(path):
            host = self.headers.get("Host", "")
            status, answer, extra = fake.file_search.handle(
                self.command, self.path, headers, raw, body, host
            )
            self._send(FakeReply(status=status, headers=extra), json.dumps(answer).encode())
            return

        if match is None and CACHE_PATH.match(path):
            reply = fake._next_reply() if self.command == "POST" else FakeReply()
            if reply.status != 200:
                self._send(reply, json.dumps(self._reply_body(reply, "", body)).encode())
                return
            status, answer = fake.caches.handle(self.command, path, body, _prompt_tokens)
            if status == 404:
                answer = _error_body(404, "CachedContent not found (or permission denied)")
            self._send(FakeReply(status=status), json.dumps(answer).encode())
            return
        self._cached_tokens = 0
        if match is not None and body.get("cachedContent"):
            cache = fake.caches.use(str(body["cachedContent"]))
            if cache is None:
                missing = _error_body(404, "CachedContent not found (or permission denied)")
                self._send(FakeReply(status=404), json.dumps(missing).encode())
                return
            self._cached_tokens = cache.tokens
        if match is None or self.command != "POST":
            message = f"Method not found: {self.command} {path}"
            self._send(FakeReply(status=404), json.dumps(_error_body(404, message)).encode())
            return
        if not isinstance(parsed, dict):
            invalid = _error_body(400, "Invalid JSON payload received.")
            self._send(FakeReply(status=400), json.dumps(invalid).encode())
            return

        reply = fake._next_reply()
        retrieved = fake.file_search.retrieve(body, _last_user_text(body))
        if retrieved is None:
            missing = _error_body(404, "FileSearchStore not found (or permission denied)")
            self._send(FakeReply(status=404), json.dumps(missing).encode())
            return
        if retrieved[0] is not None and reply.grounding is None:
            # File Search cites the passages it read; they count as tool-use prompt tokens.
            reply = replace(reply, grounding=retrieved[0], tool_use_prompt_tokens=retrieved[1])
        if reply.delay_seconds > 0 and fake._stopping.wait(reply.delay_seconds):
            # Stopping: drop the connection unanswered so stop() never waits on a delay.
            return
        if match.group("method") == "streamGenerateContent" and reply.status == 200:
            self._stream(reply, model or "", body, fake)
            fake._note_answered()
            return
        if reply.raw is not None:
            data = reply.raw
        else:
            data = json.dumps(self._reply_body(reply, model or "", body)).encode()
        self._send(reply, data)
        fake._note_answered()

    def _stream(
        self, reply: FakeReply, model: str, request_body: JsonDict, fake: "FakeGemini"
    ) -> None:
        """Server-sent events, one `data:` line per chunk, as Gemini streams."""
        # A number is a pause, in seconds; _GATE, a wait for the test's open_gate().
        events: list[JsonDict | float | object] = []
        if reply.body is not None:
            events.append(reply.body)
        else:
            full = self._built(reply, model, request_body)
            text = full["candidates"][0]["content"]["parts"][0].get("text", "")
            pieces: tuple[str | JsonDict, ...] = (
                reply.parts or reply.chunks or tuple(re.findall(r"\s*\S+", text)) or (text,)
            )
            usage = full["usageMetadata"]
            for index, piece in enumerate(pieces):
                events.append(
                    reply.first_chunk_delay_seconds if index == 0 else reply.chunk_delay_seconds
                )
                if index == reply.gate_after_chunks:
                    events.append(_GATE)
                if index == reply.fail_after_chunks:
                    events.append(_error_body(reply.fail_status, "fake mid-stream failure"))
                    break
                if index == reply.block_after_chunks:
                    events.append(_blocked_chunk())
                    break
                last = index == len(pieces) - 1
                events.append(
                    _stream_chunk(model, piece, usage, finished=last, grounding=reply.grounding)
                )
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for event in events:
                if event is _GATE:
                    if not fake._wait_for_gate():
                        return
                    continue
                if isinstance(event, int | float):
                    if event > 0 and fake._stopping.wait(event):
                        return
                    continue
                assert isinstance(event, dict)
                self.wfile.write(b"data: " + json.dumps(event).encode() + b"\r\n\r\n")
                self.wfile.flush()
                fake._count_chunk()
        except OSError:
            # The client stopped reading (a stopped reply): that is what the test wanted.
            pass

    def _built(self, reply: FakeReply, model: str, request_body: JsonDict) -> JsonDict:
        return build_reply_body(
            model,
            request_body,
            reply.text,
            reply.prompt_tokens,
            reply.reply_tokens,
            reply,
            self._cached_tokens + reply.implicit_cached_tokens,
        )

    def _reply_body(self, reply: FakeReply, model: str, request_body: JsonDict) -> JsonDict:
        if reply.body is not None:
            return reply.body
        if reply.text is not None or reply.status == 200:
            return self._built(reply, model, request_body)
        return _error_body(reply.status, HTTPStatus(reply.status).phrase)

    def _send(self, reply: FakeReply, data: bytes) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.trickle_seconds > 0:
                self._trickle(data, reply.trickle_seconds)
            else:
                self.wfile.write(data)
        except OSError:
            # The client may have timed out and hung up already; that is what the test wanted.
            pass

    def _trickle(self, data: bytes, seconds: float) -> None:
        server = self.server
        assert isinstance(server, _Server)
        pieces = _TRICKLE_PIECES
        step = -(-len(data) // pieces)
        for start in range(0, len(data), step):
            self.wfile.write(data[start : start + step])
            self.wfile.flush()
            if start + step < len(data) and server.fake._stopping.wait(seconds / pieces):
                return


class FakeGemini:
    """A Gemini API stand-in on 127.0.0.1 that records requests and plays scripted replies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._replies: deque[FakeReply] = deque()
        self._chunks_sent = 0
        self._answered = threading.Condition(self._lock)
        self._answered_count = 0
        self._stopping = threading.Event()
        self._gate = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # The cachedContents the SDK made, kept until clear().
        self.caches = FakeCaches()
        # The File Search stores the SDK made, and their documents, kept until clear().
        self.file_search = FakeFileSearch()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeGemini is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("FakeGemini has received no requests")
            return self._requests[-1]

    @property
    def answered_count(self) -> int:
        """How many generateContent answers are finished: sent in full, or the client hung up."""
        with self._lock:
            return self._answered_count

    def wait_until_answered(self, count: int, timeout: float = 30.0) -> bool:
        """Wait until `count` answers are finished (a trickled one takes a while)."""
        with self._answered:
            return self._answered.wait_for(lambda: self._answered_count >= count, timeout)

    def queue(self, *replies: FakeReply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def clear(self) -> None:
        """Forget recorded requests and any scripted replies not yet used."""
        with self._lock:
            self._requests.clear()
            self._replies.clear()
            self.caches.clear()
            self.file_search.clear()
            self._chunks_sent = 0
            self._answered_count = 0
        self._gate.clear()

    def open_gate(self) -> None:
        """Let a stream waiting at its gate (gate_after_chunks) go on; later ones pass too."""
        self._gate.set()

    def _wait_for_gate(self) -> bool:
        """Whether the gate opened (False: the fake is stopping, or nobody opened it)."""
        deadline = time.monotonic() + _GATE_SECONDS
        while not self._gate.wait(0.05):
            if self._stopping.is_set() or time.monotonic() > deadline:
                return False
        return True

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("FakeGemini is already running")
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-gemini",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        # Wake delayed handlers first: server_close() joins handler threads.
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def chunks_sent(self) -> int:
        """Streamed chunks written so far, across every stream."""
        with self._lock:
            return self._chunks_sent

    def _count_chunk(self) -> None:
        with self._lock:
            self._chunks_sent += 1

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _note_answered(self) -> None:
        with self._answered:
            self._answered_count += 1
            self._answered.notify_all()

    def _next_reply(self) -> FakeReply:
        with self._lock:
            return self._replies.popleft() if self._replies else FakeReply()
