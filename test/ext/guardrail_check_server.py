"""A team's own guardrail, in Python, from the generated switchboard.ext.v1 stubs.

It blocks any text that mentions a competitor (category COMPETITOR) and, to exercise the
gateway's timeout, sleeps before answering when a text contains "take your time". The test
starts it as a subprocess:

    PYTHONPATH=gen/python .tools/venv/bin/python test/ext/guardrail_check_server.py

It binds 127.0.0.1 on a free port and prints `READY <port>` once it accepts connections.
"""

import re
import sys
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from switchboard.ext.v1.guardrail_check_connect import GuardrailCheckServiceWSGIApplication
from switchboard.ext.v1.guardrail_check_pb2 import (
    CHECK_DECISION_ALLOW,
    CHECK_DECISION_BLOCK,
    CheckRequest,
    CheckResponse,
)

COMPETITORS = re.compile(r"\b(globex|initech)\b", re.IGNORECASE)


class CompetitorCheck:
    """Blocks content naming a competitor; never echoes the matched text."""

    def check(self, request: CheckRequest, ctx) -> CheckResponse:
        for index, content in enumerate(request.contents):
            if "take your time" in content.text:
                time.sleep(2)
            if COMPETITORS.search(content.text):
                return CheckResponse(
                    decision=CHECK_DECISION_BLOCK,
                    category="COMPETITOR",
                    content_index=index,
                    message="mentions of competitors are not allowed",
                )
        return CheckResponse(decision=CHECK_DECISION_ALLOW)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main() -> None:
    app = GuardrailCheckServiceWSGIApplication(CompetitorCheck())
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingServer, handler_class=QuietHandler)
    print(f"READY {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
