"""Local AWS emulator: moto's server on loopback, in this process.

Usage from Python:

    import aws_emulator
    emulator = aws_emulator.start()        # port 0: the OS picks a free port
    ...  # point SDK clients at emulator.url
    emulator.stop()

moto keeps its state in module globals, so every emulator started in one
process shares one AWS state; for isolated estates run one launch.py
process per test (or POST /moto-api/reset between tests).

Requests pass through EmulatorMiddleware before they reach moto. It
answers what moto 5.2.5 lacks, without patching moto:

    CloudWatch over Smithy RPC v2 CBOR    cloudwatch_cbor.py (bridged to moto)
    IPAM read APIs from a JSON fixture    ipam.py     (GET/POST /_emulator/ipam)
    request counts per operation          request_counter.py
                                          (GET /_emulator/requests,
                                           POST /_emulator/requests/reset)
    chosen requests failed on purpose     faults.py (POST /_emulator/faults)

POST /moto-api/reset also clears the IPAM fixture, the faults and the request counts,
so a reset emulator is a fresh one.

One gap is closed inside moto instead, because its state belongs to moto's
own ENIs: IPv4 prefixes on network interfaces (eni_prefixes.py; start()
installs the patch).
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

import aws_request
import eni_prefixes
from cloudwatch_cbor import CloudWatchCborBridge
from faults import FaultInjector
from ipam import IpamEmulator
from request_counter import RequestCounter

# How long start() waits for the first answer before giving up.
READY_TIMEOUT_SECONDS = 30.0

# A cheap moto endpoint that needs no AWS backend, so probing it does not
# create any service state (seeding stays deterministic).
_PROBE_PATH = "/moto-api/config"


# Paths that control the emulator rather than call an AWS API; never counted.
CONTROL_PREFIX = "/_emulator/"
MOTO_API_PREFIX = "/moto-api"
MOTO_RESET_PATH = "/moto-api/reset"


class EmulatorMiddleware:
    """WSGI app in front of moto's dispatcher.

    `route` picks who answers a request: the emulator's control endpoints,
    the CloudWatch CBOR bridge, the IPAM fixture, or (None) moto itself.
    Every AWS API request is counted on the way, whoever answers it.
    """

    def __init__(self, moto_app):
        self.moto_app = moto_app
        self.counter = RequestCounter()
        self.faults = FaultInjector()
        self.ipam = IpamEmulator()
        self.cloudwatch = CloudWatchCborBridge(moto_app)

    def route(self, environ):
        """Return a WSGI app that should serve this request, or None for moto."""
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self._control_app(environ)
        if path.startswith(MOTO_API_PREFIX):
            if path == MOTO_RESET_PATH and environ.get("REQUEST_METHOD") == "POST":
                self.reset()
            return None
        operation = aws_request.identify(environ)
        key = operation.counter_key(environ.get("REQUEST_METHOD", "GET"), path)
        self.counter.record(key)
        return (
            self.faults.app_for(key, environ)
            or self.cloudwatch.route(environ)
            or self.ipam.route(environ, operation)
        )

    def reset(self):
        """Forget the IPAM fixture, the request counts and the faults (moto resets
        itself)."""
        self.ipam.clear()
        self.counter.reset()
        self.faults.reset()

    def _control_app(self, environ):
        app = (
            self.counter.control_app(environ)
            or self.faults.control_app(environ)
            or self.ipam.control_app(environ)
        )
        if app is None:
            path = environ.get("PATH_INFO", "")
            return aws_request.respond_json(
                404, {"error": f"no emulator endpoint {path}"}
            )
        return app

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
    eni_prefixes.install()
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
