"""Run a command against a fresh local AWS emulator.

    .venv/bin/python emulator/with_emulator.py [--seed demo] [--port N] -- CMD [ARGS...]

Starts the emulator in this process, seeds it if asked, runs CMD with the
environment pointed at it, stops the emulator and exits with CMD's exit
status (128 + N when CMD was killed by signal N, as shells report it).
CMD sees:
    AWS_ENDPOINT_URL=<emulator url>
    AWS_ACCESS_KEY_ID=testing, AWS_SECRET_ACCESS_KEY=testing (session token removed)
    AWS_REGION, AWS_DEFAULT_REGION kept if set; a missing one takes the
        other's value, or us-east-1 when neither is set
    AWS_EC2_METADATA_DISABLED=true
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

import aws_emulator
import seed

DEFAULT_REGION = "us-east-1"

# Exit status when CMD cannot be started, as shells use.
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


def split_argv(argv):
    """Split at the first `--`: (our options, CMD and its arguments)."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        usage="with_emulator.py [--seed demo] [--port N] -- CMD [ARGS...]",
        description="Run CMD against a fresh local AWS emulator (moto).",
    )
    parser.add_argument("--seed", choices=sorted(seed.SEEDS), help="estate to create")
    parser.add_argument(
        "--port", type=int, default=0, help="port to serve on (default: a free one)"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log every request to stderr"
    )
    options, command = split_argv(argv)
    args = parser.parse_args(options)
    if not command:
        parser.error("missing command: put it after `--`")
    args.command = command
    return args


def emulator_env(url, base=None):
    """The environment for CMD: `base` (default os.environ) aimed at `url`."""
    env = dict(os.environ if base is None else base)
    env["AWS_ENDPOINT_URL"] = url
    env["AWS_ACCESS_KEY_ID"] = "testing"
    env["AWS_SECRET_ACCESS_KEY"] = "testing"
    # A leftover token would pair a real session with fake keys.
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_SECURITY_TOKEN", None)
    # Fill whichever region variable is missing from the other, so SDKs that
    # read AWS_REGION (Rust) and AWS_DEFAULT_REGION (boto3) agree.
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    env.setdefault("AWS_REGION", region)
    env.setdefault("AWS_DEFAULT_REGION", region)
    # SDKs would otherwise probe 169.254.169.254 for credentials and region.
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def exit_status(returncode):
    """Popen's returncode as a process exit status (-N means signal N)."""
    return 128 - returncode if returncode < 0 else returncode


def run_command(command, env):
    """Run CMD to completion, passing SIGTERM/SIGINT on to it; return its status.

    While CMD runs we only forward these signals, so the emulator outlives
    CMD's own clean-up and is stopped after it.
    """
    try:
        child = subprocess.Popen(command, env=env)
    except FileNotFoundError:
        print(f"with_emulator.py: command not found: {command[0]}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except PermissionError:
        print(f"with_emulator.py: cannot execute: {command[0]}", file=sys.stderr)
        return EXIT_NOT_EXECUTABLE

    def forward(signum, _frame):
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return exit_status(child.wait())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        emulator = aws_emulator.start(port=args.port, verbose=args.verbose)
    except Exception as error:
        print(f"with_emulator.py: error: cannot start emulator: {error}", file=sys.stderr)
        return 1
    try:
        if args.seed:
            seed.SEEDS[args.seed](emulator.url)
        return run_command(args.command, emulator_env(emulator.url))
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        print(f"with_emulator.py: error: {error}", file=sys.stderr)
        return 1
    finally:
        emulator.stop()


if __name__ == "__main__":
    aws_emulator.exit_fast(main())
