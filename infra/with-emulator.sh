#!/usr/bin/env bash
# Runs a command with an AWS emulator (moto) listening on loopback, then stops the emulator.
#
#   infra/with-emulator.sh cargo test --workspace
#
# The command sees:
#   KYC_TEST_DYNAMODB_ENDPOINT, KYC_TEST_S3_ENDPOINT   the emulator's URL (http://127.0.0.1:PORT)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY           dummy credentials (test/test, which
#                                                      moto_server.py checks presigned URLs with)
#   AWS_REGION, AWS_DEFAULT_REGION                     us-east-1
#
# moto comes from .venv/ (`make venv` installs infra/requirements-test.txt there) and runs
# through infra/moto_server.py, which serves one request at a time so that conditional writes are
# atomic as in DynamoDB (plain `moto_server` lets racing writes interleave), and which checks S3
# presigned URLs' signature and expiry as S3 does (plain moto accepts any). The emulator is
# killed when this script exits, however it exits. Its log is kept in target/moto.log.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="$root/.venv/bin/python"
if ! "$python" -c "import moto.server" 2>/dev/null; then
    echo "error: moto is not installed in $root/.venv; run \`make venv\` (or \`make test\`) first" >&2
    exit 1
fi

# A free loopback port: bind to port 0 and read what the kernel chose. Another process could take
# it before moto binds it; the readiness check below would then fail loudly rather than hang.
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
url="http://127.0.0.1:$port"

log_dir="$root/target"
mkdir -p "$log_dir"
log="$log_dir/moto.log"

moto_pid=""
stop_emulator() {
    if [[ -n "$moto_pid" ]] && kill -0 "$moto_pid" 2>/dev/null; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
}
trap stop_emulator EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$python" "$root/infra/moto_server.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!

# Wait (up to 30 s) until moto answers HTTP.
ready=""
for _ in $(seq 1 300); do
    if ! kill -0 "$moto_pid" 2>/dev/null; then
        echo "error: moto exited during start-up; its log ($log):" >&2
        cat "$log" >&2
        exit 1
    fi
    if "$python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url/moto-api/" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.1
done
if [[ -z "$ready" ]]; then
    echo "error: moto did not answer on $url within 30 s; its log ($log):" >&2
    cat "$log" >&2
    exit 1
fi
echo "AWS emulator (moto) listening on $url" >&2

export KYC_TEST_DYNAMODB_ENDPOINT="$url"
export KYC_TEST_S3_ENDPOINT="$url"
export AWS_ACCESS_KEY_ID="test"
export AWS_SECRET_ACCESS_KEY="test"
export AWS_REGION="us-east-1"
export AWS_DEFAULT_REGION="us-east-1"
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_S3

# Not `exec`: this shell must outlive the command to stop the emulator.
status=0
"$@" || status=$?
exit "$status"
