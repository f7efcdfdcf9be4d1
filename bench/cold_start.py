#!/usr/bin/env python3
"""Cold start of each Lambda function binary, against a hello-world lambda_http baseline.

    python3 bench/cold_start.py [--runs 10] [--no-build] [--store aws|sqlite]   (or: make bench-cold)

Builds the release binaries (`cargo build --release -p kyc-fn-<group>`, and bench/hello with the
same profile), then starts each one RUNS times against a tiny Lambda Runtime API emulator on
127.0.0.1 that serves one API Gateway (HTTP API, payload v2) event from events/. It measures, from
process spawn:

  init         until the first GET /2018-06-01/runtime/invocation/next (config, logging, store)
  first invoke until the POST …/invocation/<id>/response (init + routing + one store read)

and prints the median of each, with the stripped binary's size. The functions run on the
deployed configuration by default: DynamoDB and S3 clients built from the AWS environment (dummy
credentials; no request leaves the machine), with the one DynamoDB read of each event answered by
this script. `--store sqlite` runs them on the embedded store instead (a fresh file per run, built
with the functions' `local` feature).
Standard library only; loopback only; every run is bounded by a timeout.
"""

import argparse
import http.server
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ["sessions", "uploads", "extract", "liveness", "subsessions", "tenant"]
# The event each binary is invoked with: a real route of its function (the session or API key
# does not exist, so each answers 404/401 after one store read).
EVENTS = {
    "hello": "sessions-get-state.json",
    "sessions": "sessions-get-state.json",
    "uploads": "uploads-init.json",
    "extract": "extract-document.json",
    "liveness": "liveness-start.json",
    "subsessions": "subsessions-list.json",
    "tenant": "tenant-get-session.json",
}
RUN_TIMEOUT_S = 20.0


class Invocation:
    """One run's event and what the emulator saw, with monotonic timestamps."""

    def __init__(self, event: bytes, request_id: str):
        self.event = event
        self.request_id = request_id
        self.served = False
        self.next_at = None
        self.response_at = None
        self.response_body = None
        self.error = None
        self.done = threading.Event()
        self.release = threading.Event()


class RuntimeApi(http.server.ThreadingHTTPServer):
    daemon_threads = True
    invocation = None

    def handle_error(self, request, client_address):
        # A run ends by killing the function, which drops its held /next connection.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        now = time.perf_counter()
        run = self.server.invocation
        if self.path != "/2018-06-01/runtime/invocation/next" or run is None:
            return self._reply(404)
        if run.served:
            # The runtime asks for its next event: hold it until the run is over, as Lambda
            # freezes the sandbox between invocations.
            run.release.wait(RUN_TIMEOUT_S)
            return self._reply(410)
        run.served = True
        run.next_at = now
        deadline_ms = int(time.time() * 1000) + 30_000
        self._reply(
            200,
            run.event,
            [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", run.request_id),
                ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ],
        )

    def do_POST(self):
        now = time.perf_counter()
        run = self.server.invocation
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith("DynamoDB_20120810."):
            # The functions' one store read finds nothing: the session or API key is unknown.
            answer = b'{"Items":[],"Count":0,"ScannedCount":0}' if target.endswith(".Query") else b"{}"
            return self._reply(200, answer, [("Content-Type", "application/x-amz-json-1.0")])
        if run is not None and self.path == f"/2018-06-01/runtime/invocation/{run.request_id}/response":
            run.response_at = now
            run.response_body = body
            run.done.set()
        elif run is not None and self.path.endswith("/error"):
            run.error = f"{self.path}: {body[:500]!r}"
            run.done.set()
        self._reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


def build(no_build: bool, store: str) -> dict:
    """Builds (unless told not to) and returns each binary's path; the embedded store needs the
    functions' `local` feature, which Lambda builds leave out."""
    target = ROOT / "target"
    hello_target = target / "bench-hello"
    if not no_build:
        # One package per build, as `cargo lambda build --bin <group>` does: building them together
        # would unify kyc-runtime's features, linking every provider SDK into every function.
        for group in GROUPS:
            features = ["--features", "local"] if store == "sqlite" else []
            subprocess.run(["cargo", "build", "--release", "-p", f"kyc-fn-{group}", *features], cwd=ROOT, check=True)
        subprocess.run(
            ["cargo", "build", "--release", "--manifest-path", str(ROOT / "bench/hello/Cargo.toml"),
             "--target-dir", str(hello_target)],
            cwd=ROOT,
            check=True,
        )
    binaries = {"hello": hello_target / "release/hello"}
    binaries.update({group: target / "release" / group for group in GROUPS})
    missing = [str(path) for path in binaries.values() if not path.is_file()]
    if missing:
        sys.exit(f"missing binaries (run without --no-build): {', '.join(missing)}")
    return binaries


def stripped_size(binary: Path, scratch: Path) -> int:
    """The binary's size after `strip` (the release profile strips already; this makes sure)."""
    strip = shutil.which("strip")
    if strip is None:
        return binary.stat().st_size
    copy = scratch / f"{binary.name}.stripped"
    shutil.copyfile(binary, copy)
    subprocess.run([strip, str(copy)], check=True)
    size = copy.stat().st_size
    copy.unlink()
    return size


def one_run(server: RuntimeApi, binary: Path, event: bytes, run_index: int, scratch: Path, store: str):
    """Starts the binary once; returns (init_ms, first_invoke_ms)."""
    data = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
    run = Invocation(event, f"bench-{binary.name}-{run_index}")
    server.invocation = run
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-{binary.name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/bench-{binary.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "KYC_PUBLIC_BASE_URL": "https://kyc.example.com",
    }
    if store == "aws":
        port = server.server_address[1]
        env.update({
            "AWS_ACCESS_KEY_ID": "AKIDBENCHEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "bench-secret",
            "AWS_SESSION_TOKEN": "bench-session-token",
            "KYC_STORE": "dynamodb",
            "KYC_TABLE_NAME": "kyc-bench",
            "KYC_CURSOR_SECRET": "bench-cursor-secret-0123456789abcdef",
            "KYC_IDEMPOTENCY_SECRET": "bench-idempotency-secret-0123456789abcdef",
            "KYC_DYNAMODB_ENDPOINT": f"http://127.0.0.1:{port}",
            "KYC_BLOBS": "s3",
            "KYC_BUCKET": "kyc-bench-documents",
            "KYC_LOG_FORMAT": "json",
        })
    else:
        env.update({"KYC_SQLITE_PATH": str(data / "kyc.db"), "KYC_BLOB_DIR": str(data / "blobs")})
    log = open(data / "stderr.log", "wb")
    started = time.perf_counter()
    process = subprocess.Popen([str(binary)], env=env, cwd=data, stdout=subprocess.DEVNULL, stderr=log)
    try:
        finished = run.done.wait(RUN_TIMEOUT_S)
        if not finished or run.error:
            log.flush()
            stderr = (data / "stderr.log").read_text(errors="replace")[-2000:]
            reason = run.error or ("timed out" if not finished else f"exited with {process.returncode}")
            raise RuntimeError(f"{binary.name} run {run_index}: {reason}\n{stderr}")
        status = json.loads(run.response_body or b"{}").get("statusCode")
        if not isinstance(status, int) or status >= 500:
            raise RuntimeError(f"{binary.name} run {run_index}: answered {run.response_body[:300]!r}")
        return (run.next_at - started) * 1000, (run.response_at - started) * 1000
    finally:
        run.release.set()
        process.kill()
        process.wait()
        log.close()
        server.invocation = None
        shutil.rmtree(data, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="cold starts per binary (default 10)")
    parser.add_argument("--no-build", action="store_true", help="measure the binaries already built")
    parser.add_argument(
        "--store",
        choices=["aws", "sqlite"],
        default="aws",
        help="aws (default): the deployed configuration, DynamoDB and S3 clients with the store read "
        "answered by this script; sqlite: the embedded store of cargo lambda watch",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    binaries = build(args.no_build, args.store)
    server = RuntimeApi(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kyc-cold-") as scratch_dir:
        scratch = Path(scratch_dir)
        try:
            for name, binary in binaries.items():
                event = (ROOT / "events" / EVENTS[name]).read_bytes()
                size = stripped_size(binary, scratch)
                one_run(server, binary, event, -1, scratch, args.store)  # warm the page cache; not counted
                timings = [one_run(server, binary, event, i, scratch, args.store) for i in range(args.runs)]
                init = statistics.median(t[0] for t in timings)
                first = statistics.median(t[1] for t in timings)
                rows.append((name, size, init, first))
                print(f"  {name}: {size / 1e6:.2f} MB, init {init:.1f} ms, first invoke {first:.1f} ms",
                      file=sys.stderr)
        finally:
            server.shutdown()

    hello = rows[0]
    print(
        f"\ncold start on the {args.store} store, median of {args.runs} runs each "
        f"({platform.machine()}, {os.cpu_count()} cores, release profile)"
    )
    header = ("binary", "size MB", "init ms", "first-invoke ms", "size ×hello", "init ×hello", "invoke ×hello")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for name, size, init, first in rows:
        print(
            f"| {name} | {size / 1e6:.2f} | {init:.1f} | {first:.1f} | {size / hello[1]:.1f} | "
            f"{init / hello[2]:.1f} | {first / hello[3]:.1f} |"
        )


if __name__ == "__main__":
    main()
