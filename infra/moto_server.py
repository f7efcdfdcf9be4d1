"""moto's server, handling one request at a time.

Usage: .venv/bin/python infra/moto_server.py -H 127.0.0.1 -p PORT

`moto_server` serves requests on parallel threads, and moto's DynamoDB checks a condition and
applies the write as separate Python steps, so racing conditional writes can both succeed and
racing ADDs can lose increments (the conformance suite's racing tests then fail now and then).
DynamoDB applies each item's writes atomically. This launcher runs the same moto application
behind one lock: connections are still served on threads (keep-alive works), but requests run
one after another, which makes every request atomic, as DynamoDB's single-item writes and
transactions are.
"""

import argparse
import os
import signal
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


class Serialized:
    """WSGI middleware running one request at a time, response body included."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            body = self.app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind (keep it loopback)")
    parser.add_argument("-p", "--port", type=int, required=True, help="port to bind")
    args = parser.parse_args()
    # moto builds some URLs (S3 presigned, SQS queue URLs) from this, as `moto_server` sets it.
    os.environ.setdefault("MOTO_PORT", str(args.port))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        Serialized(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
