#!/usr/bin/env python3
"""Many sessions at once through the whole demo workflow, on a release dev server.

    python3 bench/load.py [--sessions 1000] [--concurrency 64] [--no-build] [--server URL]
                                                                        (or: make bench-load)
    infra/with-emulator.sh python3 bench/load.py --emulator --sessions 50 --concurrency 16
                                                                (or: make bench-load-emulator)

Builds the release dev server (`cargo build --release -p kyc-dev-server`), starts it on a free
loopback port with a fresh SQLite file in a temporary folder (so the demo tenant and workflows
are seeded anew), then walks SESSIONS sessions through the demo workflow, CONCURRENCY at a time,
each as a browser and its tenant would:

  tenant   POST /v1/sessions
  browser  GET the state and the workflow; the ID document (upload/init, PUT to the upload URL,
           upload/confirm) and its step; the selfie (legacy base64 upload) and its step; liveness
           (start, complete); personal details; one beneficial owner (subsessions, the owner's
           own step through their link); the owners' step; the state again
  tenant   GET /v1/sessions/{id}: the session is waiting for review

and reports the throughput, p50/p99 latency per route and the number of errors (any answer
other than the one expected, or a session that does not end in manual_review), which must be 0:
the exit status is 1 otherwise. `--server URL` walks a server already running instead (its
.dev/demo.json in --demo).
Standard library only; loopback only; every request has a timeout and the run a deadline.
"""

import argparse
import base64
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUEST_TIMEOUT_S = 30
RUN_DEADLINE_S = 900
ID_PNG = (ROOT / "tests/fixtures/id-card-sample.png").read_bytes()
SELFIE_B64 = base64.b64encode((ROOT / "tests/fixtures/selfie-sample.png").read_bytes()).decode()


class Failure(Exception):
    """An answer the walk did not expect."""


class Client:
    """One keep-alive connection per worker thread, timing every request by route."""

    def __init__(self, host: str, port: int, stats):
        self.host, self.port, self.stats = host, port, stats
        self.connection = None
        self.others = {}

    def other(self, host: str, port: int):
        """A connection of this worker to another loopback server (the emulator's S3)."""
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise Failure(f"upload URL off loopback: {host}")
        if (host, port) not in self.others:
            self.others[(host, port)] = Client(host, port, self.stats)
        return self.others[(host, port)]

    def request(self, route: str, method: str, path: str, body=None, headers=None, expect=(200, 201)):
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException, socket.timeout) as err:
                # A keep-alive connection the server closed: one fresh retry, never more.
                self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise Failure(f"{route}: {err!r}") from err
                continue
            self.stats.record(route, (time.perf_counter() - started) * 1000)
            if response.status not in expect:
                raise Failure(f"{route}: {response.status} {data[:300]!r}")
            return json.loads(data) if data else None
        raise AssertionError("unreachable")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)
        self.errors = []

    def record(self, route: str, ms: float):
        with self.lock:
            self.latencies[route].append(ms)

    def error(self, message: str):
        with self.lock:
            self.errors.append(message)


def walk(client: Client, demo: dict, base: str):
    """One session through the demo workflow; raises Failure on anything unexpected."""
    tenant = {"Authorization": f"Bearer {demo['api_key']}"}
    created = client.request("POST /v1/sessions", "POST", "/v1/sessions",
                             {"workflow_id": demo["workflow_id"], "external_reference": "load"}, tenant)["data"]
    public = f"/public/sessions/{created['access_token']}"
    client.request("GET /public/sessions/{t}", "GET", public)
    client.request("GET …/workflow", "GET", f"{public}/workflow")

    file = {"step_id": "id_document", "document_type": "id", "file_name": "id-card.png", "mime_type": "image/png"}
    init = client.request("POST …/upload/init", "POST", f"{public}/upload/init", file)["data"]
    url = urllib.parse.urlsplit(init["upload_url"])
    uploads = client if url.port == client.port else client.other(url.hostname, url.port)
    uploads.request("PUT upload URL", "PUT", f"{url.path}?{url.query}", ID_PNG, {"Content-Type": "image/png"})
    confirm = {**file, "doc_id": init["doc_id"], "s3_key": init["s3_key"]}
    client.request("POST …/upload/confirm", "POST", f"{public}/upload/confirm", confirm)
    client.request("POST …/step/{s}/complete", "POST", f"{public}/step/id_document/complete", {})

    selfie = {"step_id": "selfie", "document_type": "selfie", "file_name": "selfie.png", "mime_type": "image/png",
              "file_data": SELFIE_B64}
    client.request("POST …/upload (base64)", "POST", f"{public}/upload", selfie)
    client.request("POST …/step/{s}/complete", "POST", f"{public}/step/selfie/complete", {})

    started = client.request("POST …/liveness/start", "POST", f"{public}/liveness/start", {"step_id": "liveness"})
    attempt = {"liveness_session_id": started["data"]["liveness_session_id"]}
    verdict = client.request("POST …/liveness/complete", "POST", f"{public}/liveness/complete", attempt)["data"]
    if verdict.get("passed") is not True:
        raise Failure(f"liveness did not pass: {verdict}")

    form = {"form_data": {"full_name": "Ada Lovelace", "date_of_birth": "1985-03-15", "email": "ada@example.com",
                          "country": "GB"}}
    client.request("POST …/step/{s}/complete", "POST", f"{public}/step/personal_info/complete", form)

    owner = client.request("POST …/subsessions", "POST", f"{public}/subsessions",
                           {"step_id": "ubos", "label": "Juan Garcia - UBO"})["data"]
    link = urllib.parse.urlsplit(owner["access_link"]).path
    client.request("POST …/step/{s}/complete", "POST", f"{link}/step/ubo_details/complete",
                   {"form_data": {"full_name": "Juan Garcia", "ownership_percentage": 25}})
    client.request("POST …/step/{s}/complete", "POST", f"{public}/step/ubos/complete", {})
    client.request("GET /public/sessions/{t}", "GET", public)

    view = client.request("GET /v1/sessions/{id}", "GET", f"/v1/sessions/{created['session_id']}", None,
                          tenant)["data"]
    if view.get("status") != "manual_review":
        raise Failure(f"session {created['session_id']} ended {view.get('status')!r}, not manual_review")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def emulator_env() -> dict:
    """The dev server's settings for the AWS adapters on the emulator infra/with-emulator.sh runs:
    a fresh table and bucket, created with `kyc-admin create-store`."""
    dynamodb, s3 = os.environ.get("KYC_TEST_DYNAMODB_ENDPOINT"), os.environ.get("KYC_TEST_S3_ENDPOINT")
    if not (dynamodb and s3):
        sys.exit("--emulator runs under infra/with-emulator.sh (make bench-load-emulator)")
    name = f"kyc-load-{os.getpid()}-{int(time.time())}"
    env = {
        "KYC_STORE": "dynamodb", "KYC_TABLE_NAME": name, "KYC_DYNAMODB_ENDPOINT": dynamodb,
        "KYC_BLOBS": "s3", "KYC_BUCKET": name, "KYC_S3_ENDPOINT": s3,
        "KYC_CURSOR_SECRET": "load test cursor secret, not for production",
        "KYC_IDEMPOTENCY_SECRET": "load test idempotency secret, not for production",
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        env[name] = os.environ[name]
    subprocess.run(["cargo", "run", "--quiet", "-p", "kyc-admin", "--", "create-store"], cwd=ROOT, check=True,
                   env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    return env


def start_server(no_build: bool, binary: Path, folder: Path, extra_env: dict):
    """Starts the release dev server in `folder`; returns (process, base URL)."""
    if not no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "kyc-dev-server"], cwd=ROOT, check=True,
                       env={**os.environ, "CARGO_INCREMENTAL": "0"})
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PORT": str(port),
        "KYC_SQLITE_PATH": str(folder / "kyc.db"),
        "KYC_BLOB_DIR": str(folder / "blobs"),
        "RUST_LOG": "warn",
        **extra_env,
    }
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen([str(binary)], cwd=folder, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while not (folder / ".dev/demo.json").is_file() or not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit(f"the dev server did not start:\n{(folder / 'server.log').read_text()[-2000:]}")
        time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def percentile(values: list, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--no-build", action="store_true", help="use the dev server binary as built")
    parser.add_argument("--binary", type=lambda p: str(Path(p).resolve()), default=str(ROOT / "target/release/kyc-dev-server"),
                        help="the dev server binary (default target/release/kyc-dev-server)")
    parser.add_argument("--server", help="walk a dev server already running at this loopback URL")
    parser.add_argument("--demo", default=".dev/demo.json", help="with --server: its demo file")
    parser.add_argument("--emulator", action="store_true",
                        help="the dev server on the AWS adapters (DynamoDB, S3) of the emulator "
                             "infra/with-emulator.sh runs: correctness under concurrency, not speed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kyc-load-") as folder:
        process = None
        if args.server:
            base, demo_file = args.server, Path(args.demo)
        else:
            extra = emulator_env() if args.emulator else {}
            process, base = start_server(args.no_build, Path(args.binary), Path(folder), extra)
            demo_file = Path(folder) / ".dev/demo.json"
        url = urllib.parse.urlsplit(base)
        if url.hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("loopback only")
        demo = json.loads(demo_file.read_text())
        stats = Stats()
        local = threading.local()

        def one(index: int):
            if not hasattr(local, "client"):
                local.client = Client(url.hostname, url.port, stats)
            try:
                walk(local.client, demo, base)
            except Failure as failure:
                stats.error(f"session {index}: {failure}")

        started = time.perf_counter()
        try:
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                futures = [pool.submit(one, i) for i in range(args.sessions)]
                deadline = time.monotonic() + RUN_DEADLINE_S
                for future in futures:
                    future.result(timeout=max(1, deadline - time.monotonic()))
        finally:
            elapsed = time.perf_counter() - started
            if process is not None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()

    requests = sum(len(v) for v in stats.latencies.values())
    print(f"\n{args.sessions} sessions through the demo workflow, {args.concurrency} at a time, on "
          f"{('the release dev server on the emulated DynamoDB and S3' if args.emulator else 'the release dev server (SQLite)') if process else base}, {os.cpu_count()} cores: "
          f"{elapsed:.1f} s, {args.sessions / elapsed:.1f} sessions/s, {requests / elapsed:.0f} requests/s, "
          f"{len(stats.errors)} errors")
    print("| route | requests | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for route, values in sorted(stats.latencies.items(), key=lambda kv: -len(kv[1])):
        print(f"| {route} | {len(values)} | {statistics.median(values):.1f} | {percentile(values, 0.99):.1f} |")
    for message in stats.errors[:10]:
        print(f"error: {message}", file=sys.stderr)
    if stats.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
