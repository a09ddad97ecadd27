"""Cold start of the Lambda binary: time to ready, and to the first answer.

    .venv/bin/python bench/cold_start.py [--binary target/release/bootstrap]
                                         [--repeat 5] [--skip-watch]

Two measurements, both against the local emulator seeded with the demo
estate (so the first invocation does a real, small run):

1. Runtime ready (--repeat times, median and range): the binary is started
   with AWS_LAMBDA_RUNTIME_API pointing at a minimal Lambda Runtime API in
   this script, which notes when the process polls for its first event
   (GET /2018-06-01/runtime/invocation/next): that is "ready" (config read,
   SDK clients built, runtime loop entered). The script then hands it the
   scheduled event and notes when the response arrives.

2. Under `cargo lambda watch --release --ignore-changes` (once, as a
   newcomer would): from starting `cargo lambda watch` until
   `cargo lambda invoke --data-file events/scheduled.json` returns. This
   includes cargo's check that the release build is fresh (a rebuild if
   src/ changed since), cargo-lambda's server start and the function's start.
   The script starts and stops every process it uses, by PID.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "emulator"))

import aws_emulator  # noqa: E402
import seed  # noqa: E402
import with_emulator  # noqa: E402

EVENT_FILE = os.path.join(ROOT, "events", "scheduled.json")
REQUEST_ID = "00000000-0000-4000-8000-000000000001"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeRuntimeApi:
    """The three Lambda Runtime API calls the runtime makes for one invocation."""

    def __init__(self, event):
        self.event = json.dumps(event).encode()
        self.first_poll = None
        self.response_at = None
        self.response = None
        self.handed_out = False
        self.done = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path.endswith("/runtime/invocation/next"):
                    if api.first_poll is None:
                        api.first_poll = time.monotonic()
                    if api.handed_out:
                        # The runtime polls again after answering: hold that poll
                        # until the process is stopped.
                        api.done.wait(60)
                        time.sleep(5)
                        return
                    api.handed_out = True
                    deadline = int((time.time() + 300) * 1000)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Lambda-Runtime-Aws-Request-Id", REQUEST_ID)
                    self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline))
                    self.send_header(
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:ipam-monitor",
                    )
                    self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000001")
                    self.send_header("Content-Length", str(len(api.event)))
                    self.end_headers()
                    self.wfile.write(api.event)
                else:
                    self.send_error(404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                api.response_at = time.monotonic()
                api.response = (self.path, body)
                self.send_response(202)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                api.done.set()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def function_env(emulator_url, extra=None):
    env = with_emulator.emulator_env(emulator_url)
    env.update(
        REGIONS="us-east-1,eu-west-1",
        METRICS_MODE="api",
        SNS_TOPIC_ARN=f"arn:aws:sns:{seed.SINK_REGION}:{seed.ACCOUNT_ID}:{seed.ALERT_TOPIC}",
        DOWNSTREAM_FUNCTIONS=seed.CONSUMER_FUNCTION,
        RUST_LOG="info",
        AWS_LAMBDA_FUNCTION_NAME="ipam-monitor",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/ipam-monitor",
        AWS_LAMBDA_LOG_STREAM_NAME="bench",
    )
    env.update(extra or {})
    return env


def runtime_ready(binary, emulator_url):
    """One cold start against the fake Runtime API: (ready s, first answer s)."""
    with open(EVENT_FILE) as f:
        api = FakeRuntimeApi(json.load(f))
    env = function_env(emulator_url, {"AWS_LAMBDA_RUNTIME_API": api.address})
    started = time.monotonic()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        answered = api.done.wait(120)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        api.stop()
    if not answered or api.first_poll is None:
        raise RuntimeError("the function did not answer: " + proc.stderr.read().decode()[-2000:])
    path, body = api.response
    if not path.endswith("/response"):
        raise RuntimeError(f"the function reported an error: {body[:500]!r}")
    return api.first_poll - started, api.response_at - started


def wait_for_port(port, timeout, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process exited ({proc.returncode}) before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return time.monotonic()
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {port} after {timeout} s")


def under_cargo_lambda_watch(emulator_url, cargo_lambda):
    """Seconds from starting `cargo lambda watch` to the first invoke's answer."""
    port = free_port()
    env = function_env(emulator_url)
    for key in list(env):
        if key.startswith("AWS_LAMBDA_"):
            env.pop(key)
    # The function inherits the watch process's environment (--env-vars would split
    # REGIONS at its comma).
    log = open(os.path.join(HERE, "target", "results", "cold-start-watch.log"), "w")
    started = time.monotonic()
    watch = subprocess.Popen(
        # --no-default-features: the build `make bench-cold-start` has just made.
        [cargo_lambda, "lambda", "watch", "--release", "--no-default-features",
         "--ignore-changes", "--quiet", "--bin", "bootstrap",
         "--invoke-address", "127.0.0.1", "--invoke-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole below
    )
    try:
        api_ready = wait_for_port(port, 900, watch) - started
        invoke = subprocess.run(
            [cargo_lambda, "lambda", "invoke", "--invoke-address", "127.0.0.1", "--invoke-port",
             str(port), "--data-file", EVENT_FILE, "bootstrap"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=900,
            check=False,
        )
        answered = time.monotonic() - started
    finally:
        os.killpg(watch.pid, signal.SIGTERM)
        try:
            watch.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(watch.pid, signal.SIGKILL)
            watch.wait()
        log.close()
    ok = invoke.returncode == 0
    return {
        "watch_api_listening_s": round(api_ready, 3),
        "first_invoke_answered_s": round(answered, 3),
        "invoke_exit_status": invoke.returncode,
        "invoke_output": (invoke.stdout if ok else invoke.stderr).decode()[-400:],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "bootstrap"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-watch", action="store_true")
    parser.add_argument(
        "--cargo-lambda", default=os.path.join(ROOT, ".venv", "bin", "cargo-lambda")
    )
    parser.add_argument("--out", default=os.path.join(HERE, "target", "results", "cold-start.json"))
    args = parser.parse_args(argv)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)

    emulator = aws_emulator.start()
    try:
        seed.seed_demo(emulator.url)
        result = {"binary": os.path.relpath(args.binary, ROOT)}
        if os.path.exists(args.binary):
            result["binary_bytes"] = os.path.getsize(args.binary)
            runs = [runtime_ready(args.binary, emulator.url) for _ in range(args.repeat)]
            ready = [r for r, _ in runs]
            first = [a for _, a in runs]
            result["runtime_ready_ms"] = {
                "median": round(statistics.median(ready) * 1000, 1),
                "min": round(min(ready) * 1000, 1),
                "max": round(max(ready) * 1000, 1),
            }
            result["first_answer_ms"] = {
                "median": round(statistics.median(first) * 1000, 1),
                "min": round(min(first) * 1000, 1),
                "max": round(max(first) * 1000, 1),
            }
            print(
                f"cold start ({result['binary']}, {result['binary_bytes'] / 1e6:.1f} MB): "
                f"ready (first poll for an event) median {result['runtime_ready_ms']['median']} ms "
                f"[{result['runtime_ready_ms']['min']}-{result['runtime_ready_ms']['max']}], "
                f"first answer (demo estate run) median {result['first_answer_ms']['median']} ms, "
                f"{args.repeat} runs"
            )
        else:
            print(f"cold_start.py: {args.binary} not built; skipping runtime-ready", file=sys.stderr)
        if not args.skip_watch:
            result["cargo_lambda_watch"] = under_cargo_lambda_watch(emulator.url, args.cargo_lambda)
            w = result["cargo_lambda_watch"]
            print(
                f"cargo lambda watch --release: invoke port listening after {w['watch_api_listening_s']} s, "
                f"first `cargo lambda invoke` answered after {w['first_invoke_answered_s']} s "
                f"(exit {w['invoke_exit_status']})"
            )
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    aws_emulator.exit_fast(main())
