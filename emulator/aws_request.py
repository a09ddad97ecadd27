"""What an incoming AWS API request is: service, operation, region, caller.

Shared by the request counter and by the handlers that answer APIs moto
lacks. Everything here reads the raw WSGI environ and leaves it usable, so
a request passed on to moto afterwards arrives exactly as it was sent.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import urllib.parse
from dataclasses import dataclass

from werkzeug.wsgi import get_input_stream

# moto's own defaults, so our answers agree with moto's about who and where.
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"

# SigV4 signing names that differ from the service name botocore (and the
# request counter's keys) use.
SIGNING_NAME_ALIASES = {"monitoring": "cloudwatch"}

# Smithy service shape names seen in RPC v2 CBOR paths, and their service.
SMITHY_SERVICES = {"GraniteServiceVersion20100801": "cloudwatch"}

# POST /service/<ServiceShape>/operation/<Operation>: the RPC v2 CBOR route.
RPC_V2_PATH = re.compile(r"/service/([^/]+)/operation/([^/]+)")

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_BODY_KEY = "emulator.body"
_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Scope:
    """The caller and target named by a SigV4 credential scope."""

    access_key: str
    region: str
    signing_name: str


@dataclass(frozen=True)
class Operation:
    """The AWS operation a request calls; action is None when unknown."""

    service: str
    action: str | None

    def counter_key(self, method, path):
        """`service:Action`, or `service:METHOD /path` when the action is unknown."""
        return f"{self.service}:{self.action or f'{method} {path}'}"


def buffered_body(environ):
    """The request body, read once and put back for later readers (moto).

    werkzeug's input stream copes with both Content-Length and chunked
    bodies; afterwards the environ carries the bytes in a fresh stream with
    an exact Content-Length.
    """
    body = environ.get(_BODY_KEY)
    if body is None:
        body = get_input_stream(environ).read()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ[_BODY_KEY] = body
    return body


def decoded_body(environ):
    """The body as the SDK meant it: gunzipped when sent gzip-encoded.

    SDKs compress large requests (the Rust CloudWatch client gzips
    PutMetricData bodies from 10 KiB on), so a reader must undo that.
    """
    body = buffered_body(environ)
    if environ.get("HTTP_CONTENT_ENCODING", "").strip().lower() == "gzip":
        return gzip.decompress(body)
    return body


def credential_scope(environ):
    """The SigV4 credential scope from the Authorization header or a presigned URL."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        credential = (query.get("X-Amz-Credential") or [""])[0]
        match = _CREDENTIAL.search(f"Credential={credential}")
    if match is None:
        return None
    return Scope(*match.groups())


def region_of(environ):
    """The region the request was signed for (moto's default when unsigned)."""
    scope = credential_scope(environ)
    return scope.region if scope else DEFAULT_REGION


def account_of(environ):
    """The caller's account id, resolved the way moto resolves it.

    moto's order: MOTO_ACCOUNT_ID, then the x-moto-account-id header, then
    the access key (keys from STS AssumeRole map to the role's account).
    """
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    scope = credential_scope(environ)
    if scope is None:
        return DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from  # moto is loaded by now

    return get_account_id_from(scope.access_key)


def is_form_encoded(environ):
    return environ.get("CONTENT_TYPE", "").startswith(_FORM_CONTENT_TYPE)


def query_params(environ):
    """Query-protocol parameters: URL query string plus a form-encoded body.

    Later values win, as a body parameter overrides a URL one in AWS.
    """
    params = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), True))
    if environ.get("REQUEST_METHOD") == "POST" and is_form_encoded(environ):
        text = decoded_body(environ).decode("utf-8", errors="replace")
        params.update(urllib.parse.parse_qsl(text, keep_blank_values=True))
    return params


def rpc_v2_call(environ):
    """(service shape name, operation) for an RPC v2 CBOR request, else None."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    match = RPC_V2_PATH.fullmatch(environ.get("PATH_INFO", ""))
    return match.groups() if match else None


def identify(environ):
    """The Operation a request calls, as far as it can be told."""
    rpc = rpc_v2_call(environ)
    scope = credential_scope(environ)
    if rpc and rpc[0] in SMITHY_SERVICES:
        return Operation(SMITHY_SERVICES[rpc[0]], rpc[1])
    service = _service_name(environ, scope)
    if rpc:
        return Operation(service, rpc[1])
    return Operation(service, _action(environ, service))


def _service_name(environ, scope):
    if scope is not None:
        name = scope.signing_name.lower()
        return SIGNING_NAME_ALIASES.get(name, name)
    # Unsigned: an AWS-style host (ec2.us-east-1.amazonaws.com) still tells.
    host = environ.get("HTTP_HOST", "")
    if host.endswith(".amazonaws.com"):
        return SIGNING_NAME_ALIASES.get(host.split(".")[0], host.split(".")[0])
    return "unknown"


def _action(environ, service):
    """Query protocols name it in Action, JSON ones in X-Amz-Target; REST by path."""
    if "Action=" in environ.get("QUERY_STRING", "") or (
        environ.get("REQUEST_METHOD") == "POST" and is_form_encoded(environ)
    ):
        action = query_params(environ).get("Action")
        if action:
            return action
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    return _rest_action(environ, service)


def _rest_action(environ, service):
    """Match a REST request (Lambda Invoke, S3, ...) with moto's own router.

    The router sees a copy of the environ with its own body stream, so the
    request moto serves later is untouched. None when nothing matches.
    """
    try:
        from moto.core.request import Request
        from moto.core.routing import get_service_router

        body = buffered_body(environ)
        probe = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        operation, _ = get_service_router(service).match(Request(probe))
        return operation.name
    except Exception:  # unknown service, no matching rule: the action stays unknown
        return None


def call_wsgi(app, environ):
    """Run a WSGI app in-process; return (status code, headers dict, body bytes)."""
    captured = {}
    chunks = []

    def start_response(status, headers, exc_info=None):
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = {name.lower(): value for name, value in headers}
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return captured["status"], captured["headers"], b"".join(chunks)


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
}


def respond(status, body, content_type, extra_headers=()):
    """A WSGI app answering one fixed response."""
    if isinstance(body, str):
        body = body.encode("utf-8")

    def app(environ, start_response):
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            *extra_headers,
        ]
        start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
        return [body]

    return app


def respond_json(status, document):
    """A WSGI app answering a JSON document (the emulator's control endpoints)."""
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return respond(status, text, "application/json")
