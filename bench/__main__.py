"""`python -m bench [--strict]`: run the measurements and print the table.

With --strict, the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import logging
import sys

from bench import (
    cold_start,
    insight,
    knowledge,
    knowledge_search,
    latency,
    report,
    resilience,
    storage,
    streaming,
    trees,
)
from bench.counting import CallCounter

log = logging.getLogger("bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="AI Maker's benchmark")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    # Progress on stderr; the app's own request logs would drown it.
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    log.setLevel(logging.INFO)

    counter = CallCounter()
    counter.install()
    try:
        log.info("(a) storage cost per send, up to 5,000 exchanges")
        storage_result = storage.run(counter)
        log.info("(c) server-side time of one send")
        latency_result = latency.run(counter)
        log.info("(g) analytics: an agent's 90 days in one Query")
        insight_result = insight.run(counter)
        log.info("(h) conversations as trees: sends after branches, a deep edit, switches")
        tree_result = trees.run(counter)
    finally:
        counter.uninstall()
    log.info("(d) streaming over the WebSocket API")
    streaming_result = streaming.run()
    log.info("(b) cold import, in fresh interpreters")
    cold_result = cold_start.run()

    log.info("(e) resilience: the soak under faults, and a hot config")
    resilience_result = resilience.run()
    log.info("(f) knowledge, inline and through the context cache")
    knowledge_result = knowledge.run()
    log.info("(h) 600 pages of knowledge: inline, cached, searched")
    search_result = knowledge_search.run()

    results = (storage_result, cold_result, latency_result, streaming_result)
    print(report.render(*results))
    print("\n".join(resilience_result.lines()))
    print("\n".join(knowledge_result.lines()))
    print("\n".join(search_result.lines()))
    print("\n".join(insight_result.lines()))
    print("\n".join(tree_result.lines()))
    missed = [t for t in report.targets(*results) if not t.met]
    missed_resilience = not resilience_result.met_hot or resilience_result.soak.lost
    missed_insight = insight_result.quiet.calls != 1 or insight_result.busy.calls != 1
    missed_trees = tree_result.established_send.dynamodb_calls > 3
    missed_any = missed or missed_resilience or missed_insight or missed_trees
    return 1 if args.strict and missed_any else 0


if __name__ == "__main__":
    sys.exit(main())
