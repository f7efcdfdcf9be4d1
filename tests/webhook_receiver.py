"""A webhook receiver on loopback that checks every request with the reference Standard Webhooks
library (the `standardwebhooks` package in .venv), for tests/api/webhook_reference.rs.

It prints {"port": N} once listening, then reads the endpoint's secret (one line) from stdin,
then prints one JSON line per request: {"verified": true, "id": ..., "type": ...} and answers
204, or {"verified": false, "error": ...} and answers 400.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver(BaseHTTPRequestHandler):
    verifier = None

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            payload = self.verifier.verify(body, dict(self.headers.items()))
            line, status = {"verified": True, "id": self.headers["webhook-id"], "type": payload["type"]}, 204
        except WebhookVerificationError as error:
            line, status = {"verified": False, "error": str(error)}, 400
        print(json.dumps(line), flush=True)
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Receiver)
print(json.dumps({"port": server.server_address[1]}), flush=True)
Receiver.verifier = Webhook(sys.stdin.readline().strip())
server.serve_forever()
