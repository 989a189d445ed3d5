"""Condenses standard input with Switchboard's Summarize verb.

    export SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_KEY=sb_live_…
    echo "Switchboard routes model calls, enforces budgets and caches answers." | python examples/summarize.py
"""

from __future__ import annotations

import os
import sys

from switchboard.v1.capability_service_pb2 import SummarizeRequest, SummaryStyle
from switchboard_client import SwitchboardClient, SwitchboardError


def main() -> int:
    url = os.environ.get("SWITCHBOARD_URL", "http://127.0.0.1:8080")
    text = sys.stdin.read()
    with SwitchboardClient(url, os.environ.get("SWITCHBOARD_KEY", ""), timeout=30, retries=2) as client:
        try:
            res = client.summarize(SummarizeRequest(text=text, style=SummaryStyle.SUMMARY_STYLE_BULLETS))
        except SwitchboardError as e:
            if e.budget_exceeded is not None:
                b = e.budget_exceeded
                print(f"over budget {b.budget}: spent {b.spent_micros_usd} of {b.limit_micros_usd} micro-USD", file=sys.stderr)
            elif e.provider_attempts is not None:
                print(f"{e} ({len(e.provider_attempts.attempts)} provider attempts)", file=sys.stderr)
            else:
                print(e, file=sys.stderr)
            return 1
    print(res.summary)
    u = res.usage
    print(f"{u.provider}/{u.model}: {u.input_tokens}+{u.output_tokens} tokens, {u.cost_micros_usd} micro-USD", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
