"""Run the local AWS emulator until told to stop.

    .venv/bin/python emulator/launch.py [--seed demo] [--port N] [--host H]
                                        [--exit-on-stdin-eof] [--verbose]

Prints exactly one line to stdout once the emulator is seeded and serving,

    READY http://127.0.0.1:PORT

and nothing else there afterwards. Stops on SIGTERM or SIGINT and, with
--exit-on-stdin-eof, when its stdin reaches end of file: a test process
that spawns it with a piped stdin takes it down by dying, even by SIGKILL.
Errors go to stderr with a non-zero exit status.
"""

from __future__ import annotations

import argparse
import queue
import signal
import sys
import threading

import aws_emulator
import seed


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Run the local AWS emulator (moto) until told to stop."
    )
    parser.add_argument("--seed", choices=sorted(seed.SEEDS), help="estate to create")
    parser.add_argument(
        "--port", type=int, default=0, help="port to serve on (default: a free one)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="also stop when stdin reaches end of file (parent gone)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log every request to stderr"
    )
    return parser.parse_args(argv)


def announce_ready(url):
    """Print the READY line, then send any later stdout writes to stderr.

    The parent reads one line and may stop reading; a stray print from moto
    must then neither mix into that line nor fail on a closed pipe.
    """
    print(f"READY {url}", flush=True)
    sys.stdout = sys.stderr


def stop_on_signals(stop_requests):
    """Turn SIGTERM and SIGINT into a stop request.

    SimpleQueue.put is reentrant, so a signal handler may call it safely.
    """

    def request_stop(signum, _frame):
        stop_requests.put(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def stop_on_stdin_eof(stop_requests):
    """Watch stdin on a daemon thread; request a stop when it reaches EOF."""

    def drain_stdin():
        # sys.stdin is None when the process was started with stdin closed.
        if sys.stdin is not None:
            while sys.stdin.buffer.read1(65536):
                pass  # input is ignored; only the end of it matters
        stop_requests.put("stdin EOF")

    threading.Thread(target=drain_stdin, name="stdin-eof", daemon=True).start()


def main(argv=None):
    args = parse_args(argv)
    try:
        emulator = aws_emulator.start(args.host, args.port, verbose=args.verbose)
    except Exception as error:
        print(f"launch.py: error: cannot start emulator: {error}", file=sys.stderr)
        return 1
    try:
        if args.seed:
            seed.SEEDS[args.seed](emulator.url)
        stop_requests = queue.SimpleQueue()
        stop_on_signals(stop_requests)
        if args.exit_on_stdin_eof:
            stop_on_stdin_eof(stop_requests)
        announce_ready(emulator.url)
        reason = stop_requests.get()
        if args.verbose:
            print(f"launch.py: stopping ({reason})", file=sys.stderr)
        return 0
    except KeyboardInterrupt:  # Ctrl-C before the handlers were installed
        return 130
    except Exception as error:
        print(f"launch.py: error: {error}", file=sys.stderr)
        return 1
    finally:
        emulator.stop()


if __name__ == "__main__":
    aws_emulator.exit_fast(main())
