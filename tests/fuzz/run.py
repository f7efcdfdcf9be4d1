#!/usr/bin/env python3
"""Fuzz the API with Schemathesis, on the committed OpenAPI document (docs/openapi.json).

    python3 tests/fuzz/run.py [--max-examples N] [--seed S]      (or: make fuzz; part of make test)

Starts the dev server (built by the caller: target/debug/kyc-dev-server) on a free loopback port
with a fresh SQLite store in a temporary folder, reads the demo tenant's test API key and a
live session's access token from the seeded demo, and runs every Schemathesis check over every
operation (examples, coverage, fuzzing and the stateful phase that follows the document's links),
seeded and bounded, so CI sees the same cases each time. Exits with Schemathesis's status.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SERVER = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "kyc-dev-server"
SCHEMATHESIS = ROOT / ".venv" / "bin" / "schemathesis"
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(base: str, demo_file: Path, server: subprocess.Popen) -> dict:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the dev server exited with {server.returncode}")
        try:
            urllib.request.urlopen(f"{base}/openapi.json", timeout=2).read()
            return json.loads(demo_file.read_text())
        except (OSError, ValueError):
            time.sleep(0.2)
    sys.exit(f"the dev server did not answer within {START_TIMEOUT_S} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25, help="cases per operation and phase")
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    if not SERVER.exists():
        sys.exit(f"{SERVER} is missing: cargo build --bin kyc-dev-server")

    with tempfile.TemporaryDirectory(prefix="kyc-fuzz-") as work:
        work = Path(work)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(
            os.environ,
            PORT=str(port),
            KYC_SQLITE_PATH=str(work / "kyc.db"),
            KYC_BLOB_DIR=str(work / "blobs"),
            KYC_PUBLIC_BASE_URL=base,
            RUST_LOG=os.environ.get("RUST_LOG", "error"),
        )
        log = open(work / "server.log", "wb")
        server = subprocess.Popen([str(SERVER)], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            demo = wait_for(base, work / ".dev" / "demo.json", server)
            command = [
                str(SCHEMATHESIS),
                "--config-file", str(ROOT / "tests" / "fuzz" / "schemathesis.toml"),
                "run", str(ROOT / "docs" / "openapi.json"),
                "--url", base,
                "--header", f"Authorization: Bearer {demo['api_key']}",
                "--phases", "examples,coverage,fuzzing,stateful",
                "--max-examples", str(args.max_examples),
                "--seed", str(args.seed),
                "--generation-deterministic",
                "--workers", "2",
                "--request-timeout", "10",
                "--no-color",
            ]
            started = time.monotonic()
            result = subprocess.run(
                command,
                cwd=work,
                env=dict(
                    env,
                    KYC_FUZZ_ACCESS_TOKEN=demo["access_token"],
                    PYTHONPATH=str(ROOT / "tests" / "fuzz"),
                ),
            )
            print(f"schemathesis finished in {time.monotonic() - started:.0f} s with status {result.returncode}")
            if result.returncode != 0:
                log.flush()
                tail = (work / "server.log").read_text(errors="replace").splitlines()[-40:]
                print("dev server log (last lines):", *tail, sep="\n  ")
            return result.returncode
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
