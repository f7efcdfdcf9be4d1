"""moto's server, handling one request at a time.

Usage: .venv/bin/python infra/moto_server.py -H 127.0.0.1 -p PORT

`moto_server` serves requests on parallel threads, and moto's DynamoDB checks a condition and
applies the write as separate Python steps, so racing conditional writes can both succeed and
racing ADDs can lose increments (the conformance suite's racing tests then fail now and then).
DynamoDB applies each item's writes atomically. This launcher runs the same moto application
behind one lock: connections are still served on threads (keep-alive works), but requests run
one after another, which makes every request atomic, as DynamoDB's single-item writes and
transactions are.

moto also accepts any S3 presigned URL: it checks neither the signature nor the expiry, so a
tampered, expired or mistyped upload would succeed. `PresignedUrlCheck` verifies SigV4 query
signatures (`X-Amz-Signature`) the way S3 does before moto sees the request: the signature must
cover the method, path, query and signed headers (so a PUT must carry the signed Content-Type,
and the signed Content-Length when the upload declared its size), and the URL must not have
expired. It knows the dummy credentials `infra/with-emulator.sh`
exports; requests signed in the Authorization header pass through unchecked, as before.
"""

import argparse
import datetime
import hashlib
import hmac
import os
import signal
import sys
import threading
from urllib.parse import quote, unquote

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


class PresignedUrlCheck:
    """WSGI middleware refusing S3 presigned requests that S3 itself would refuse."""

    # Secret access keys by access key id: the dummy credentials of infra/with-emulator.sh.
    CREDENTIALS = {"test": "test"}
    # S3 caps presigned URLs at 7 days.
    MAX_EXPIRES = 7 * 24 * 3600
    UNRESERVED = "-_.~"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        params = self.query_params(environ.get("QUERY_STRING", ""))
        names = {name for name, _ in params}
        if "X-Amz-Signature" in names and "X-Amz-Credential" in names:
            refusal = self.refusal(environ, params)
            if refusal is not None:
                status, code, message = refusal
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
                ).encode()
                start_response(
                    status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
                )
                return [body]
        return self.app(environ, start_response)

    @staticmethod
    def query_params(query):
        """The query's decoded (name, value) pairs; unlike parse_qsl, '+' stays '+' as in SigV4."""
        pairs = []
        for part in query.split("&"):
            if part:
                name, _, value = part.partition("=")
                pairs.append((unquote(name), unquote(value)))
        return pairs

    def refusal(self, environ, params):
        """(status, code, message) when S3 would refuse the presigned request, else None."""
        query = dict(params)
        try:
            access_key, date, region, service, terminator = query["X-Amz-Credential"].split("/")
            signed_at = datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc
            )
            expires = int(query["X-Amz-Expires"])
            signed_headers = query["X-Amz-SignedHeaders"].split(";")
        except (KeyError, ValueError):
            return ("400 Bad Request", "AuthorizationQueryParametersError", "Malformed presigned URL")
        if service != "s3":
            return None
        if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or terminator != "aws4_request":
            return ("400 Bad Request", "AuthorizationQueryParametersError", "Unsupported algorithm")
        if not 1 <= expires <= self.MAX_EXPIRES:
            return ("400 Bad Request", "AuthorizationQueryParametersError", "X-Amz-Expires out of range")
        secret = self.CREDENTIALS.get(access_key)
        if secret is None:
            return ("403 Forbidden", "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist")

        canonical_headers = ""
        for name in signed_headers:
            value = self.header(environ, name)
            if value is None:
                return self.mismatch()
            canonical_headers += f"{name}:{' '.join(value.split())}\n"
        path = (environ.get("RAW_URI") or quote(environ.get("PATH_INFO", "/"))).split("?", 1)[0]
        canonical_query = "&".join(
            f"{name}={value}"
            for name, value in sorted(
                (quote(name, safe=self.UNRESERVED), quote(value, safe=self.UNRESERVED))
                for name, value in params
                if name != "X-Amz-Signature"
            )
        )
        canonical_request = "\n".join(
            [
                environ["REQUEST_METHOD"],
                quote(unquote(path), safe="/" + self.UNRESERVED),
                canonical_query,
                canonical_headers,
                ";".join(signed_headers),
                query.get("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
            ]
        )
        scope = f"{date}/{region}/{service}/{terminator}"
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                query["X-Amz-Date"],
                scope,
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        key = ("AWS4" + secret).encode()
        for part in (date, region, service, terminator):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
            return self.mismatch()
        now = datetime.datetime.now(datetime.timezone.utc)
        if now > signed_at + datetime.timedelta(seconds=expires):
            return ("403 Forbidden", "AccessDenied", "Request has expired")
        return None

    @staticmethod
    def header(environ, name):
        if name == "content-type":
            return environ.get("CONTENT_TYPE") or None
        if name == "content-length":
            return environ.get("CONTENT_LENGTH") or None
        return environ.get("HTTP_" + name.upper().replace("-", "_"))

    @staticmethod
    def mismatch():
        return (
            "403 Forbidden",
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        )


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
        Serialized(PresignedUrlCheck(app)),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
