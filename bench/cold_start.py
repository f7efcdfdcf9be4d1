#!/usr/bin/env python3
"""Cold request of each Lambda function binary, against a hello-world lambda_http baseline,
under the CPU share Lambda gives the function's memory size.

    python3 bench/cold_start.py [--runs 10] [--memory-mb 256] [--warm | --warm-ab] [--no-build]
                                [--only sessions,…] [--store aws|sqlite]  (or: make bench-cold)

Builds the release binaries (`cargo build --release -p kyc-fn-<group> --features test-ca`, and
bench/hello with the same profile), then starts each one RUNS times, interleaved (run i of every
binary before run i+1 of any), against a tiny Lambda Runtime API emulator on 127.0.0.1 that
serves one API Gateway (HTTP API, payload v2) event from events/. It measures, from process
spawn:

  init           until the first GET /2018-06-01/runtime/invocation/next (config, logging, the
                 AWS clients, and with --warm the store connection)
  first response from that GET to the POST …/invocation/<id>/response (routing + one store read)
  cold request   init + first response: what the end user waits for after a cold start

with the CPU time the process used in each (the sum over its threads of /proc/<pid>/task/*/
schedstat), and prints the median of each with the stripped binary's size.

TLS, as on AWS. The functions run on the deployed configuration: DynamoDB and S3 clients built
from the AWS environment (dummy credentials), whose requests go to a local responder that answers
over TLS (AWS_ENDPOINT_URL_DYNAMODB / _S3; the table's one read of each event finds nothing). Its
certificate comes from a throwaway CA made with the `openssl` CLI for this run; the functions
trust it only because the bench builds them with the `test-ca` feature and names the CA in
KYC_TEST_CA_FILE. Deployed builds have no such feature and trust only AWS's roots.

CPU share. Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB, so
≈ 14.5 % of one at 256 MB. Each process runs in a CPU cgroup with that quota (cgroup v2
`cpu.max` or v1 `cpu.cfs_quota_us`, period --cpu-period-us, 20 ms by default: AWS does not publish
its period; a longer one makes a process that outspends its quota wait longer). Where no cgroup
can be made (not root, no cpu controller) the runs are unthrottled and the CPU columns are the
figures to compare: the bench says so above the table.

`--store sqlite` runs the functions on the embedded store instead (a fresh file per run, built
with the functions' `local` feature; no TLS).
Standard library only; loopback only; every run is bounded by a timeout.
"""

import argparse
import http.server
import json
import os
import platform
import shutil
import ssl
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
# With --warm-ab, the second entry of each function, run with KYC_WARM_STORE=true.
WARMED = " (warmed in init)"
# Lambda's CPU per MB of memory: one full vCPU at 1,769 MB.
MB_PER_VCPU = 1769


def cpu_ns(pid: int) -> int:
    """CPU time the process has used so far, over all its threads, in nanoseconds."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                    total += int(stat.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass
    except FileNotFoundError:
        pass
    return total


def wchans(pid: int) -> list:
    """Where each thread of a process sleeps, for a run that hangs."""
    found = []
    try:
        for task in sorted(os.listdir(f"/proc/{pid}/task")):
            with open(f"/proc/{pid}/task/{task}/wchan") as wchan, open(f"/proc/{pid}/task/{task}/comm") as comm:
                found.append(f"{comm.read().strip()}={wchan.read().strip() or 'running'}")
    except OSError:
        pass
    return found


class Invocation:
    """One run's event and what the emulator saw, with monotonic timestamps and CPU times."""

    def __init__(self, event: bytes, request_id: str):
        self.event = event
        self.request_id = request_id
        self.pid = None
        self.served = False
        self.next_at = None
        self.next_cpu = None
        self.response_at = None
        self.response_cpu = None
        self.response_body = None
        self.error = None
        self.done = threading.Event()
        self.release = threading.Event()


class RuntimeApi(http.server.ThreadingHTTPServer):
    daemon_threads = True
    invocation = None

    def handle_error(self, request, client_address):
        # A run ends by killing the function, which drops its held /next connection.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: without TCP_NODELAY the body would wait for the
    # client's delayed ACK of the headers (40 ms), as no AWS endpoint makes it wait.
    disable_nagle_algorithm = True

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
        run.next_cpu = cpu_ns(run.pid)
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
            run.response_cpu = cpu_ns(run.pid)
            run.response_at = now
            run.response_body = body
            run.done.set()
        elif run is not None and self.path.endswith("/error"):
            run.error = f"{self.path}: {body[:500]!r}"
            run.done.set()
        self._reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])

    def do_HEAD(self):
        # S3 (HeadObject): no such object.
        self._reply(404)

    def do_PUT(self):
        # S3 (PutObject, CopyObject): accepted.
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._reply(200, b"", [("ETag", '"bench"')])


class TlsResponder(RuntimeApi):
    """The same answers over TLS, as DynamoDB and S3 give them."""

    def __init__(self, address, handler, context: ssl.SSLContext):
        super().__init__(address, handler)
        # The handshake happens in each connection's own thread, never in the accepting one.
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)


def make_test_ca(scratch: Path) -> tuple:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it (openssl CLI); returns the CA
    file (what the functions are told to trust) and the server's certificate and key files."""
    if shutil.which("openssl") is None:
        sys.exit("the TLS responder needs the openssl command (or run with --store sqlite)")
    ca_key, ca_cert = scratch / "ca.key", scratch / "ca.pem"
    key, csr, cert, ext = scratch / "server.key", scratch / "server.csr", scratch / "server.pem", scratch / "ext.cnf"
    quiet = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca_cert, "-days", "2",
                    "-subj", "/CN=kyc bench throwaway CA", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"], **quiet)
    subprocess.run(["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"], **quiet)
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
                    "-out", cert, "-days", "2", "-extfile", ext], **quiet)
    return ca_cert, cert, key


class CpuQuota:
    """A CPU cgroup with the quota of `memory_mb` on Lambda, or None where the machine allows none."""

    def __init__(self, memory_mb: int, period_us: int):
        self.share = memory_mb / MB_PER_VCPU
        self.quota_us = max(1000, int(period_us * self.share))
        self.period_us = period_us
        self.path = None
        self.reason = None
        name = f"kyc-bench-{os.getpid()}"
        v2, v1 = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/cpu")
        try:
            if (v2 / "cgroup.controllers").is_file() and "cpu" in (v2 / "cgroup.controllers").read_text().split():
                path = v2 / name
                path.mkdir()
                (path / "cpu.max").write_text(f"{self.quota_us} {period_us}\n")
            elif (v1 / "cpu.cfs_quota_us").is_file():
                path = v1 / name
                path.mkdir()
                (path / "cpu.cfs_period_us").write_text(f"{period_us}\n")
                (path / "cpu.cfs_quota_us").write_text(f"{self.quota_us}\n")
            else:
                raise OSError("no cgroup cpu controller")
            self.path = path
        except OSError as err:
            self.reason = f"{err.strerror or err}"

    def command(self, binary: Path) -> list:
        """The command that runs `binary` inside the group: a shell that moves itself in, then
        execs it (same pid). Cheaper than a Python preexec_fn, which forks the whole interpreter
        and would charge that to every run."""
        if self.path is None:
            return [str(binary)]
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$1"', str(self.path / "cgroup.procs"), str(binary)]

    def describe(self) -> str:
        if self.path is None:
            return (f"UNTHROTTLED: no CPU cgroup could be made ({self.reason}); compare the CPU columns, "
                    f"which a {self.share:.1%} share would stretch by about {1 / self.share:.1f}×")
        return (f"CPU quota {self.quota_us} µs per {self.period_us} µs ({self.share:.1%} of a vCPU, "
                f"as Lambda gives {round(self.share * MB_PER_VCPU)} MB)")

    def remove(self):
        if self.path is not None:
            for _ in range(50):
                try:
                    self.path.rmdir()
                    return
                except OSError:
                    time.sleep(0.05)


def build(no_build: bool, store: str, only: list) -> dict:
    """Builds (unless told not to) and returns each binary's path; the embedded store needs the
    functions' `local` feature, which Lambda builds leave out, and TLS to the local responder the
    `test-ca` feature, which they leave out too."""
    target = ROOT / "target"
    hello_target = target / "bench-hello"
    if not no_build:
        # One package per build, as `cargo lambda build --bin <group>` does: building them together
        # would unify kyc-runtime's features, linking every provider SDK into every function.
        env = {**os.environ, "CARGO_INCREMENTAL": "0"}
        for group in only:
            features = ["--features", "local" if store == "sqlite" else "test-ca"]
            subprocess.run(["cargo", "build", "--release", "-p", f"kyc-fn-{group}", *features], cwd=ROOT,
                           check=True, env=env)
        subprocess.run(
            ["cargo", "build", "--release", "--manifest-path", str(ROOT / "bench/hello/Cargo.toml"),
             "--target-dir", str(hello_target)],
            cwd=ROOT,
            check=True,
            env=env,
        )
    binaries = {"hello": hello_target / "release/hello"}
    binaries.update({group: target / "release" / group for group in only})
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


class Bench:
    """What every run shares: the Runtime API, the TLS responder, the CPU quota, the settings."""

    def __init__(self, args, scratch: Path):
        self.args = args
        self.scratch = scratch
        self.runtime = RuntimeApi(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.runtime.serve_forever, daemon=True).start()
        self.tls = None
        self.ca_file = None
        if args.store == "aws":
            self.ca_file, cert, key = make_test_ca(scratch)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self.tls = TlsResponder(("127.0.0.1", 0), Handler, context)
            threading.Thread(target=self.tls.serve_forever, daemon=True).start()
        self.quota = CpuQuota(args.memory_mb, args.cpu_period_us)

    def close(self):
        self.runtime.shutdown()
        if self.tls is not None:
            self.tls.shutdown()
        self.quota.remove()

    def environment(self, name: str, binary: Path, data: Path) -> dict:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.runtime.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": f"bench-{binary.name}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.args.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/bench-{binary.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "KYC_PUBLIC_BASE_URL": "https://kyc.example.com",
        }
        if self.args.store == "aws":
            endpoint = f"https://127.0.0.1:{self.tls.server_address[1]}"
            env.update({
                "AWS_ACCESS_KEY_ID": "AKIDBENCHEXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "bench-secret",
                "AWS_SESSION_TOKEN": "bench-session-token",
                # The SDK's own endpoint overrides, so the functions' configuration is exactly the
                # deployed one (KYC_*_ENDPOINT would switch them to emulator mode).
                "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
                "AWS_ENDPOINT_URL_S3": endpoint,
                "KYC_TEST_CA_FILE": str(self.ca_file),
                "KYC_STORE": "dynamodb",
                "KYC_TABLE_NAME": "kyc-bench",
                "KYC_CURSOR_SECRET": "bench-cursor-secret-0123456789abcdef",
                "KYC_IDEMPOTENCY_SECRET": "bench-idempotency-secret-0123456789abcdef",
                "KYC_BLOBS": "s3",
                "KYC_BUCKET": "kyc-bench-documents",
                "KYC_LOG_FORMAT": "json",
                "KYC_WARM_STORE": "true" if self.args.warm or name.endswith(WARMED) else "false",
            })
        else:
            env.update({"KYC_SQLITE_PATH": str(data / "kyc.db"), "KYC_BLOB_DIR": str(data / "blobs")})
        return env

    def one_run(self, name: str, binary: Path, event: bytes, run_index: int):
        """Starts the binary once; returns (init_ms, first_response_ms, init_cpu_ms, response_cpu_ms)."""
        data = Path(tempfile.mkdtemp(prefix="run-", dir=self.scratch))
        run = Invocation(event, f"bench-{binary.name}-{run_index}")
        self.runtime.invocation = run
        if self.tls is not None:
            self.tls.invocation = None
        log = open(data / "stderr.log", "wb")
        # Idle for a whole period first, so every run starts with the group's full quota
        # rather than what the previous run left of it.
        time.sleep(self.quota.period_us / 1e6)
        started = time.perf_counter()
        process = subprocess.Popen(self.quota.command(binary), env=self.environment(name, binary, data), cwd=data,
                                   stdout=subprocess.DEVNULL, stderr=log)
        run.pid = process.pid
        try:
            finished = run.done.wait(RUN_TIMEOUT_S)
            if not finished or run.error:
                log.flush()
                stderr = (data / "stderr.log").read_text(errors="replace")[-2000:]
                reason = run.error or ("timed out" if not finished else f"exited with {process.returncode}")
                if not finished:
                    sockets = subprocess.run(["ss", "-tnpi"], capture_output=True, text=True).stdout
                    mine = [line for line in sockets.splitlines() if f"pid={process.pid}," in line]
                    reason += (f" (threads waiting in: {', '.join(wchans(process.pid))}; served /next: {run.served}; "
                               f"sockets: {' | '.join(mine)})")
                raise RuntimeError(f"{binary.name} run {run_index}: {reason}\n{stderr}")
            status = json.loads(run.response_body or b"{}").get("statusCode")
            if not isinstance(status, int) or status >= 500:
                raise RuntimeError(f"{binary.name} run {run_index}: answered {run.response_body[:300]!r}")
            return (
                (run.next_at - started) * 1000,
                (run.response_at - run.next_at) * 1000,
                run.next_cpu / 1e6,
                (run.response_cpu - run.next_cpu) / 1e6,
            )
        finally:
            run.release.set()
            process.kill()
            process.wait()
            log.close()
            self.runtime.invocation = None
            shutil.rmtree(data, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="cold starts per binary (default 10)")
    parser.add_argument("--memory-mb", type=int, default=256,
                        help="the MemorySize whose CPU share the runs get (default 256; 1769 = one vCPU)")
    parser.add_argument("--cpu-period-us", type=int, default=20_000, help="the CPU quota's period (default 20000)")
    parser.add_argument("--warm", action="store_true",
                        help="KYC_WARM_STORE=true: open the store connection in init, not on the first request")
    parser.add_argument("--warm-ab", action="store_true",
                        help="measure each function twice per round, with and without KYC_WARM_STORE")
    parser.add_argument("--no-build", action="store_true", help="measure the binaries already built")
    parser.add_argument("--also", action="append", default=[], metavar="NAME=GROUP:PATH",
                        help="also measure another build of a function (A/B: e.g. "
                        "sessions-mt=sessions:/tmp/sessions-multi-thread), with that function's event")
    parser.add_argument("--only", help="comma-separated functions to build and measure besides hello (default: all)")
    parser.add_argument(
        "--store",
        choices=["aws", "sqlite"],
        default="aws",
        help="aws (default): the deployed configuration, DynamoDB and S3 clients over TLS to this "
        "script; sqlite: the embedded store of cargo lambda watch",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    only = args.only.split(",") if args.only else GROUPS
    unknown = set(only) - set(GROUPS)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}")
    binaries = build(args.no_build, args.store, only)
    for extra in args.also:
        name, _, rest = extra.partition("=")
        group, _, path = rest.partition(":")
        if group not in GROUPS or not Path(path).is_file():
            parser.error(f"--also {extra}: expected NAME=GROUP:PATH with an existing binary")
        binaries[name] = Path(path)
        EVENTS[name] = EVENTS[group]
    if args.warm_ab and args.store == "aws":
        for name in list(binaries):
            if name != "hello":
                binaries[name + WARMED] = binaries[name]
                EVENTS[name + WARMED] = EVENTS[name]
        binaries = dict(sorted(binaries.items(), key=lambda kv: kv[0] != "hello"))
    timings = {name: [] for name in binaries}
    hangs = []
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="kyc-cold-") as scratch_dir:
        scratch = Path(scratch_dir)
        bench = Bench(args, scratch)
        print(bench.quota.describe(), file=sys.stderr)
        try:
            events = {name: (ROOT / "events" / EVENTS[name]).read_bytes() for name in binaries}
            for name, binary in binaries.items():
                sizes[name] = stripped_size(binary, scratch)
                bench.one_run(name, binary, events[name], -1)  # warm the page cache; not counted
            for i in range(args.runs):
                for name, binary in binaries.items():
                    for attempt in range(3):
                        try:
                            timings[name].append(bench.one_run(name, binary, events[name], i))
                            break
                        except RuntimeError as err:
                            # Reported, and the run repeated: a hang is a finding, not a result.
                            hangs.append(f"{name}: {str(err).splitlines()[0]}")
                            if attempt == 2:
                                raise
                print(f"  run {i + 1}/{args.runs} done", file=sys.stderr)
        finally:
            bench.close()

    rows = []
    for name in binaries:
        medians = [statistics.median(t[k] for t in timings[name]) for k in range(4)]
        cold = statistics.median(t[0] + t[1] for t in timings[name])
        rows.append((name, sizes[name], *medians, cold))
    hello = rows[0]
    warm = "" if args.store == "sqlite" else (", store connection opened in init" if args.warm
                                               else ", store connection opened by the first request")
    print(
        f"\ncold request on the {args.store} store{' over TLS' if args.store == 'aws' else ''}{warm}; "
        f"median of {args.runs} interleaved runs each ({platform.machine()}, release profile)\n"
        f"{bench.quota.describe()}"
    )
    if hangs:
        print(f"{len(hangs)} run(s) failed and were repeated: " + "; ".join(hangs))
    header = ("binary", "size MB", "init ms", "first response ms", "cold request ms", "init CPU ms",
              "response CPU ms", "init ×hello", "cold request ×hello")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for name, size, init, first, init_cpu, first_cpu, cold in rows:
        print(
            f"| {name} | {size / 1e6:.2f} | {init:.1f} | {first:.1f} | {cold:.1f} | {init_cpu:.1f} | "
            f"{first_cpu:.1f} | {init / hello[2]:.2f} | {cold / hello[6]:.2f} |"
        )


if __name__ == "__main__":
    main()
