"""Local AWS emulator: moto's server on loopback, in this process.

Usage from Python:

    import aws_emulator
    emulator = aws_emulator.start()        # port 0: the OS picks a free port
    ...  # point SDK clients at emulator.url
    emulator.stop()

moto keeps its state in module globals, so every emulator started in one
process shares one AWS state; for isolated estates run one launch.py
process per test (or POST /moto-api/reset between tests).

Requests pass through EmulatorMiddleware before they reach moto, so the
APIs moto lacks (CloudWatch's CBOR protocol, IPAM reads) can be answered
there later without touching moto.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request

from moto.core.config import default_user_config
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

# How long start() waits for the first answer before giving up.
READY_TIMEOUT_SECONDS = 30.0

# A cheap moto endpoint that needs no AWS backend, so probing it does not
# create any service state (seeding stays deterministic).
_PROBE_PATH = "/moto-api/config"


class EmulatorMiddleware:
    """WSGI app in front of moto's dispatcher.

    Today it hands every request to moto. `route` is the hook point: return
    a WSGI app from it to answer a request here instead (planned: a
    CloudWatch Smithy RPC v2 CBOR -> JSON bridge, and IPAM read APIs
    backed by a fixture, both of which moto 5.2.5 does not serve).
    """

    def __init__(self, moto_app):
        self.moto_app = moto_app

    def route(self, environ):
        """Return a WSGI app that should serve this request, or None for moto."""
        return None

    def __call__(self, environ, start_response):
        app = self.route(environ) or self.moto_app
        return app(environ, start_response)


class Emulator:
    """A running emulator: `url` to point clients at, `stop()` to shut it down."""

    def __init__(self, server, thread, url):
        self._server = server
        self._thread = thread
        self.url = url

    def stop(self):
        """Stop serving, wait for the serving thread and free the port.

        Safe to call more than once.
        """
        if self._thread is None:
            return
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self._thread = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def use_docker_free_lambda():
    """Make moto's Lambda run in-process instead of in Docker containers.

    These machines have no Docker. With use_docker False, moto 5.2.5 routes
    every Lambda call to its "simple" backend (moto.awslambda_simple): the
    functions are stored as usual, and Invoke returns the request payload
    (or a result queued via /moto-api/static/lambda-simple/response)
    without running any code. The switch picks a different backend store,
    so it must be set before any function is created.
    """
    default_user_config["lambda"] = {"use_docker": False}


def quiet_request_log():
    """Keep werkzeug's per-request lines off stderr.

    A parent process that pipes our stderr but never reads it would
    otherwise fill the pipe and stall every request.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _url_for(server):
    host, port = server.server_address[:2]
    # A wildcard bind is reachable on loopback; clients cannot dial 0.0.0.0.
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _wait_until_answering(url, timeout=READY_TIMEOUT_SECONDS):
    """Poll the probe endpoint until it answers 2xx, or raise TimeoutError."""
    # No proxies: a proxy from the environment must never see loopback calls.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(url + _PROBE_PATH, timeout=2) as response:
                # moto answers this GET with 201, so accept any 2xx.
                if 200 <= response.status < 300:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"AWS emulator at {url} did not answer in {timeout}s")
        time.sleep(0.05)


def start(host="127.0.0.1", port=0, verbose=False):
    """Serve moto on host:port (0 = a free port) and return a running Emulator.

    Returns only once the server answers HTTP. Raises OSError when the port
    cannot be bound.
    """
    use_docker_free_lambda()
    if not verbose:
        quiet_request_log()
    app = EmulatorMiddleware(DomainDispatcherApplication(create_backend_app))
    # MotoRequestHandler keeps header spellings moto relies on (as moto's own
    # ThreadedMotoServer does); threaded so slow calls do not block others.
    try:
        server = make_server(
            host, port, app, threaded=True, request_handler=MotoRequestHandler
        )
    except SystemExit:
        # werkzeug prints why (e.g. port in use) to stderr and calls
        # sys.exit(1) when it cannot bind; a library must raise instead.
        raise OSError(f"cannot listen on {host}:{port}") from None
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},  # how fast stop() is noticed
        name="aws-emulator",
        daemon=True,
    )
    thread.start()
    emulator = Emulator(server, thread, _url_for(server))
    try:
        _wait_until_answering(emulator.url)
    except BaseException:
        emulator.stop()
        raise
    return emulator


def exit_fast(status):
    """Flush stdio and end the process now, skipping interpreter teardown.

    Python spends about a second unloading moto's modules after the
    emulator has already stopped; a parent waiting for us (a test
    fixture's Drop, a CI step) should not pay that. Call it only once the
    emulator is stopped and nothing else needs cleaning up.
    """
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass  # reader gone or stream closed: nothing left to deliver
    os._exit(status)
