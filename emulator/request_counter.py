"""Counts the AWS API requests the emulator receives, per operation.

Tests assert on request counts ("2,500 metrics go out in exactly 3
PutMetricData calls") through two control endpoints:

    GET  /_emulator/requests
         -> {"cloudwatch:PutMetricData": 3, "ec2:DescribeVpcs": 2, ...}
    POST /_emulator/requests/reset
         -> zeroes every counter, answers {}

Keys are "<service>:<Action>": the service is the SigV4 signing name
(CloudWatch's "monitoring" reads "cloudwatch"); the action comes from the
query protocol's Action parameter, a JSON protocol's X-Amz-Target, the RPC
v2 CBOR path, or moto's router for REST APIs ("lambda:Invoke"). An
unidentifiable request counts as "<service>:<METHOD> <path>". Every API
request counts, whoever answers it and whether or not it succeeds; the
control endpoints (/_emulator/..., /moto-api/...) do not.
"""

from __future__ import annotations

import collections
import threading

from aws_request import respond_json

REQUESTS_PATH = "/_emulator/requests"
RESET_PATH = "/_emulator/requests/reset"


class RequestCounter:
    """Thread-safe counts per key (the server handles requests in threads)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = collections.Counter()

    def record(self, key):
        with self._lock:
            self._counts[key] += 1

    def snapshot(self):
        """The current counts as a plain dict."""
        with self._lock:
            return dict(self._counts)

    def reset(self):
        with self._lock:
            self._counts.clear()

    def control_app(self, environ):
        """The WSGI app for a control request under /_emulator/requests, or None."""
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == REQUESTS_PATH:
            if method != "GET":
                return respond_json(405, {"error": f"use GET {REQUESTS_PATH}"})
            return respond_json(200, self.snapshot())
        if path == RESET_PATH:
            if method != "POST":
                return respond_json(405, {"error": f"use POST {RESET_PATH}"})
            self.reset()
            return respond_json(200, {})
        return None
