"""One cold start, in a fresh interpreter: `python -m bench.cold_probe <mode>`.

Prints one JSON line of timings. Only the standard library is imported before
the clock starts, so the figures are the app's own import cost.

Modes:
- `import`: `import app`.
- `eager`: `import google.genai` then `import app`, as if app imported it eagerly.
- `send`: `import app`, then (untimed) moto, the fake Gemini and a new chat
  session, then one timed message send through the real google-genai client.
"""

from __future__ import annotations

import json
import sys
import time


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _first_send(result: dict[str, float | bool]) -> None:
    from bench.stack import USER_CHARS, local_stack, text_of
    from tests.fake_gemini import FakeGemini

    with FakeGemini() as fake:
        extra = {"GEMINI_API_KEY": "bench-key", "GOOGLE_GEMINI_BASE_URL": fake.base_url}
        with local_stack(extra) as stack:
            session = stack.new_session()
            result["genai_before_send"] = "google.genai" in sys.modules
            start = time.perf_counter()
            stack.send(session, text_of(USER_CHARS))
            result["first_send_ms"] = _ms(start)
            result["genai_after_send"] = "google.genai" in sys.modules


def main(mode: str) -> None:
    result: dict[str, float | bool] = {}
    start = time.perf_counter()
    if mode == "eager":
        import google.genai  # noqa: F401
    import app  # noqa: F401

    result["import_ms"] = _ms(start)
    result["genai_after_import"] = "google.genai" in sys.modules
    if mode == "send":
        _first_send(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
