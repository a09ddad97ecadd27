"""Fails chosen AWS requests on purpose, so tests can meet AWS failing mid-run.

    POST /_emulator/faults
         {"operation": "cloudwatch:PutMetricData", "from": 2, "count": 5,
          "status": 400, "code": "InvalidParameterValue", "message": "..."}
         -> the 2nd to 6th PutMetricData requests from now are answered with
            that error (a count that outlasts the SDK's retries loses the call)
    GET  /_emulator/faults          -> the faults set, with their counters
    POST /_emulator/faults/reset    -> no more faults

`operation` is the request counter's key ("<service>:<Action>"). The error
is written in the request's protocol: CBOR for CloudWatch's RPC v2 (with the
awsQuery code header the Rust SDK reads), REST-JSON with `x-amzn-errortype`
for Lambda, EC2's own XML for EC2, the query protocol's XML otherwise.
"""

from __future__ import annotations

import json
import threading

import aws_request
from cloudwatch_cbor import SMITHY_NAMESPACE, CborError, _error_app

FAULTS_PATH = "/_emulator/faults"
RESET_PATH = "/_emulator/faults/reset"


class FaultInjector:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def reset(self):
        with self._lock:
            self._faults.clear()

    def app_for(self, key, environ):
        """An error app if a fault covers this request (the key's next ordinal)."""
        with self._lock:
            for fault in self._faults:
                if fault["operation"] != key:
                    continue
                fault["seen"] += 1
                first = fault["from"]
                if first <= fault["seen"] < first + fault["count"]:
                    fault["failed"] += 1
                    return _error(environ, fault)
        return None

    def control_app(self, environ):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == RESET_PATH and method == "POST":
            self.reset()
            return aws_request.respond_json(200, {})
        if path != FAULTS_PATH:
            return None
        if method == "GET":
            with self._lock:
                return aws_request.respond_json(200, {"faults": list(self._faults)})
        try:
            fault = _parse(aws_request.buffered_body(environ))
        except ValueError as problem:
            return aws_request.respond_json(400, {"error": str(problem)})
        with self._lock:
            self._faults.append(fault)
        return aws_request.respond_json(200, fault)


def _parse(body):
    document = json.loads(body or b"{}")
    if not isinstance(document, dict) or ":" not in str(document.get("operation", "")):
        raise ValueError('expected {"operation": "<service>:<Action>", ...}')
    fault = {
        "operation": document["operation"],
        "from": int(document.get("from", 1)),
        "count": int(document.get("count", 1)),
        "status": int(document.get("status", 500)),
        "code": str(document.get("code", "InternalFailure")),
        "message": str(document.get("message", "injected by the emulator")),
        "seen": 0,
        "failed": 0,
    }
    if fault["from"] < 1 or fault["count"] < 1 or not 400 <= fault["status"] <= 599:
        raise ValueError("from and count must be 1 or more, status 400-599")
    return fault


def _error(environ, fault):
    if aws_request.rpc_v2_call(environ) is not None:
        fault_side = "Sender" if fault["status"] < 500 else "Receiver"
        return _error_app(
            CborError(
                fault["status"],
                f"{SMITHY_NAMESPACE}#{fault['code']}",
                fault["message"],
                f"{fault['code']};{fault_side}",
            )
        )
    service = fault["operation"].split(":", 1)[0]
    if service == "lambda":
        # REST-JSON: the code rides in a header, the message in the body.
        body = json.dumps({"Type": "User", "message": fault["message"]})
        return aws_request.respond(
            fault["status"],
            body,
            "application/json",
            [("x-amzn-errortype", fault["code"])],
        )
    if service == "ec2":
        body = (
            "<Response><Errors><Error>"
            f"<Code>{fault['code']}</Code><Message>{fault['message']}</Message>"
            "</Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID>"
            "</Response>"
        )
        return aws_request.respond(fault["status"], body, "text/xml")
    body = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{fault['code']}</Code><Message>{fault['message']}</Message>"
        "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
        "</ErrorResponse>"
    )
    return aws_request.respond(fault["status"], body, "text/xml")
