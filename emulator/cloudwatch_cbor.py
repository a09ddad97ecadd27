"""CloudWatch over Smithy RPC v2 CBOR, answered by moto's CloudWatch.

The Rust aws-sdk-cloudwatch calls CloudWatch as (botocore can too, but
picks awsJson1_0 when the model offers both, so boto3 never gets here)

    POST /service/GraniteServiceVersion20100801/operation/<Operation>
    smithy-protocol: rpc-v2-cbor
    Content-Type: application/cbor      (Content-Encoding: gzip for large bodies)
    <CBOR map of the operation's input members>

moto 5.2.5 has no route for that path (404), but it does serve CloudWatch's
awsJson1_0 protocol, which has the same data model: the same member names
and structures, only a different encoding. So each call is re-dispatched
to moto in-process as JSON, and the JSON answer is re-encoded as CBOR:

    CBOR -> JSON   tag-1 timestamps become epoch seconds, byte strings base64
    moto           X-Amz-Target: GraniteServiceVersion20100801.<Operation>
    JSON -> CBOR   walked along botocore's output shape, so timestamps go
                   out as tag 1 and doubles as CBOR floats (the Rust decoder
                   accepts no integer where the model says double)

Re-dispatching relies only on a wire protocol moto keeps working against
botocore; calling moto's backend objects directly would tie us to internal
method signatures and to moto's serializers' private types.

Errors follow rpcv2Cbor for an @awsQueryCompatible service, as CloudWatch
is: HTTP status from the error shape, a CBOR body

    {"__type": "com.amazonaws.cloudwatch#InvalidParameterValueException",
     "message": "..."}

and the header `x-amzn-query-error: InvalidParameterValue;Sender`. The Rust
SDK takes the error code from that header when present (else from __type
after the '#') and matches its typed errors on the awsQuery code
("InvalidParameterValue", "MissingParameter", "ResourceNotFound"), so the
header is what makes `err.is_invalid_parameter_value_exception()` work.

On top of moto, PutMetricData enforces the AWS limits moto skips (see
_put_metric_data_problem), every operation checks the model's required
members, and ListMetrics drops the duplicates moto 5.2.5 lists for metrics
without dimensions (one entry per datapoint).
"""

from __future__ import annotations

import base64
import datetime
import functools
import io
import json
import math
import uuid

import botocore.session
import cbor2

import aws_request

SERVICE_SHAPE = "GraniteServiceVersion20100801"
SMITHY_NAMESPACE = "com.amazonaws.cloudwatch"
CBOR_CONTENT_TYPE = "application/cbor"
PROTOCOL_HEADER = ("smithy-protocol", "rpc-v2-cbor")
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"

# AWS limits for PutMetricData (moto checks none of them).
MAX_METRICS_PER_REQUEST = 1000
MAX_DIMENSIONS_PER_METRIC = 30
MAX_REQUEST_BYTES = 1024 * 1024

_UTC = datetime.timezone.utc


@functools.cache
def service_model():
    """botocore's CloudWatch model: shapes, members, error codes."""
    return botocore.session.get_session().get_service_model("cloudwatch")


@functools.cache
def _error_shapes():
    """{shape name: shape} and {awsQuery code: shape} for every modeled error."""
    model = service_model()
    shapes = [model.shape_for(name) for name in model.shape_names]
    errors = [shape for shape in shapes if shape.metadata.get("exception")]
    by_name = {shape.name: shape for shape in errors}
    by_code = {shape.error_code: shape for shape in errors}
    return by_name, by_code


class CborError(Exception):
    """An error to answer in rpcv2Cbor form."""

    def __init__(self, status, error_type, message, query_error=None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type  # the __type value
        self.message = message
        self.query_error = query_error  # x-amzn-query-error value, if any


def modeled_error(code, message):
    """A CborError for the modeled error with this awsQuery code."""
    _, by_code = _error_shapes()
    shape = by_code[code]
    return _error_for_shape(shape, message)


def _error_for_shape(shape, message):
    details = shape.metadata.get("error", {})
    fault = "Sender" if details.get("senderFault") else "Receiver"
    return CborError(
        details.get("httpStatusCode", 400),
        f"{SMITHY_NAMESPACE}#{shape.name}",
        message,
        f"{shape.error_code};{fault}",
    )


class CloudWatchCborBridge:
    """Answers CloudWatch RPC v2 CBOR requests with moto's CloudWatch."""

    def __init__(self, moto_app):
        self.moto_app = moto_app

    def route(self, environ):
        """The WSGI app for a CloudWatch CBOR request, or None for any other."""
        call = aws_request.rpc_v2_call(environ)
        if call is None or call[0] != SERVICE_SHAPE:
            return None
        try:
            output = self._call(environ, call[1])
        except CborError as error:
            return _error_app(error)
        return _success_app(output)

    def _call(self, environ, operation_name):
        """Run one operation; return its output as CBOR-ready Python values."""
        operation = _operation_model(operation_name)
        if len(aws_request.buffered_body(environ)) > MAX_REQUEST_BYTES:
            raise CborError(
                413,
                "RequestEntityTooLarge",
                f"Request size exceeds {MAX_REQUEST_BYTES} bytes",
                "RequestEntityTooLarge;Sender",
            )
        params = decode_request(aws_request.decoded_body(environ))
        _check_required(operation.input_shape, params, "")
        if operation_name == "PutMetricData":
            _check_put_metric_data(params)
        status, headers, body = self._ask_moto(environ, operation_name, params)
        if status >= 400:
            raise _error_from_moto(status, headers, body)
        output = json.loads(body or b"{}")
        if operation_name == "ListMetrics":
            output["Metrics"] = _unique_metrics(output.get("Metrics") or [])
        return to_cbor_values(operation.output_shape, output)

    def _ask_moto(self, environ, operation_name, params):
        """POST the call to moto as awsJson1_0; return (status, headers, body)."""
        body = json.dumps(params).encode("utf-8")
        inner = _json_environ(environ, operation_name, body)
        try:
            return aws_request.call_wsgi(self.moto_app, inner)
        except NotImplementedError:
            raise CborError(
                501,
                "NotImplemented",
                f"moto does not implement CloudWatch {operation_name}",
            ) from None


def _operation_model(name):
    try:
        return service_model().operation_model(name)
    except Exception:  # botocore raises OperationNotFoundError
        raise CborError(
            404, "UnknownOperationException", f"CloudWatch has no operation {name}"
        ) from None


def _json_environ(environ, operation_name, body):
    """A WSGI environ for the same call as an awsJson1_0 request to moto.

    moto picks the backend from the SigV4 credential scope, so the scope is
    rebuilt with the caller's access key and region: unsigned test requests
    then still reach CloudWatch in the right account and region.
    """
    scope = aws_request.credential_scope(environ)
    access_key = scope.access_key if scope else "testing"
    region = scope.region if scope else aws_request.DEFAULT_REGION
    inner = {
        key: value
        for key, value in environ.items()
        if key.startswith("wsgi.") or key.startswith("SERVER_") or key == "REMOTE_ADDR"
    }
    inner.update(
        {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": "/",
            "RAW_URI": "/",
            "REQUEST_URI": "/",
            "QUERY_STRING": "",
            "CONTENT_TYPE": JSON_CONTENT_TYPE,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "HTTP_HOST": f"monitoring.{region}.amazonaws.com",
            "HTTP_X_AMZ_TARGET": f"{SERVICE_SHAPE}.{operation_name}",
            "HTTP_AUTHORIZATION": (
                f"AWS4-HMAC-SHA256 Credential={access_key}/20100801/{region}"
                "/monitoring/aws4_request, SignedHeaders=host, Signature=0"
            ),
        }
    )
    if "HTTP_X_MOTO_ACCOUNT_ID" in environ:
        inner["HTTP_X_MOTO_ACCOUNT_ID"] = environ["HTTP_X_MOTO_ACCOUNT_ID"]
    inner.pop("wsgi.input_terminated", None)
    return inner


# --- request: CBOR -> JSON -------------------------------------------------


def decode_request(body):
    """The CBOR input map as a JSON-ready dict; an empty body is an empty input."""
    if not body:
        return {}
    try:
        value = cbor2.loads(body)
    except Exception as error:  # cbor2 raises several decode error types
        raise CborError(400, "SerializationException", f"invalid CBOR: {error}")
    if not isinstance(value, dict):
        raise CborError(400, "SerializationException", "the body must be a CBOR map")
    return to_json_value(value)


def to_json_value(value):
    """A decoded CBOR value as its awsJson equivalent."""
    if isinstance(value, dict):
        return {
            key: to_json_value(item) for key, item in value.items() if item is not None
        }
    if isinstance(value, list):
        return [to_json_value(item) for item in value]
    if isinstance(value, datetime.datetime):  # tag 1 (or tag 0), decoded by cbor2
        moment = value if value.tzinfo else value.replace(tzinfo=_UTC)
        return moment.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and not math.isfinite(value):
        return (
            "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        )
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise CborError(400, "SerializationException", f"unsupported CBOR item {value!r}")


# --- response: JSON -> CBOR ------------------------------------------------


def to_cbor_values(shape, value):
    """A moto JSON value as CBOR-ready Python values, typed by the model shape."""
    if shape is None or value is None:
        return {} if shape is None else None
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        return {
            name: to_cbor_values(members[name], item)
            for name, item in value.items()
            if name in members and item is not None
        }
    if kind == "list":
        return [to_cbor_values(shape.member, item) for item in value]
    if kind == "map":
        return {key: to_cbor_values(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return _timestamp(value)
    if kind in ("double", "float"):
        return float(value)  # also turns "NaN"/"Infinity" strings into floats
    if kind in ("integer", "long", "short", "byte"):
        return int(value)
    if kind == "boolean":
        return bool(value)
    if kind == "blob":
        return base64.b64decode(value)
    return value


def _timestamp(value):
    """A datetime (cbor2 writes it as tag 1) from epoch seconds or ISO 8601 text."""
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, _UTC)
    moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=_UTC)


def encode_cbor(document):
    """CBOR bytes with timestamps as tag 1 (epoch seconds), as rpcv2Cbor requires."""
    return cbor2.dumps(document, datetime_as_timestamp=True, timezone=_UTC)


def _success_app(output):
    return aws_request.respond(
        200,
        encode_cbor(output),
        CBOR_CONTENT_TYPE,
        [PROTOCOL_HEADER, ("x-amzn-requestid", str(uuid.uuid4()))],
    )


def _error_app(error):
    headers = [PROTOCOL_HEADER, ("x-amzn-requestid", str(uuid.uuid4()))]
    if error.query_error:
        headers.append(("x-amzn-query-error", error.query_error))
    body = encode_cbor({"__type": error.error_type, "message": error.message})
    return aws_request.respond(error.status, body, CBOR_CONTENT_TYPE, headers)


def _error_from_moto(status, headers, body):
    """moto's awsJson error as the CborError AWS would send.

    moto names the error shape in __type (under its own namespace,
    "GraniteServiceVersion20100801#ValidationException") and the awsQuery
    code in x-amzn-query-error; the model supplies the rest.
    """
    try:
        document = json.loads(body)
    except ValueError:
        document = {}
    message = (
        document.get("message")
        or document.get("Message")
        or body.decode("utf-8", "replace")
    )
    by_name, by_code = _error_shapes()
    shape_name = str(document.get("__type", "")).rsplit("#", 1)[-1]
    query_code = headers.get("x-amzn-query-error", "").split(";", 1)[0]
    shape = by_name.get(shape_name) or by_code.get(query_code)
    if shape is not None:
        return _error_for_shape(shape, message)
    return CborError(
        status,
        shape_name or "InternalFailure",
        message,
        headers.get("x-amzn-query-error"),
    )


# --- checks moto leaves out --------------------------------------------------


def _check_required(shape, value, path):
    """Raise MissingParameter for the first required member the input lacks.

    Paths use the awsQuery spelling AWS puts in its messages
    ("MetricData.member.2.MetricName").
    """
    if shape is None or value is None:
        return
    if shape.type_name == "structure" and isinstance(value, dict):
        for name in shape.required_members:
            if value.get(name) is None:
                raise modeled_error(
                    "MissingParameter", f"The parameter {path}{name} is required."
                )
        for name, member in shape.members.items():
            _check_required(member, value.get(name), f"{path}{name}.")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value, start=1):
            _check_required(shape.member, item, f"{path}member.{index}.")


def _check_put_metric_data(params):
    problem = _put_metric_data_problem(params)
    if problem:
        raise modeled_error("InvalidParameterValue", problem)


def _put_metric_data_problem(params):
    """The first AWS PutMetricData limit the input breaks, as AWS words it, or None.

    At most 1000 metrics (MetricData plus EntityMetricData) and 30
    dimensions per metric; no NaN or infinite values.
    """
    data = list(params.get("MetricData") or [])
    for entity in params.get("EntityMetricData") or []:
        data.extend(entity.get("MetricData") or [])
    if len(data) > MAX_METRICS_PER_REQUEST:
        return (
            "The collection MetricData must not have a size greater than "
            f"{MAX_METRICS_PER_REQUEST}."
        )
    for index, datum in enumerate(data, start=1):
        where = f"MetricData.member.{index}"
        if len(datum.get("Dimensions") or []) > MAX_DIMENSIONS_PER_METRIC:
            return (
                f"The collection {where}.Dimensions must not have a size greater "
                f"than {MAX_DIMENSIONS_PER_METRIC}."
            )
        for name, value in _datum_numbers(datum):
            if not _is_finite(value):
                return f"The value {value} for parameter {where}.{name} is invalid."
    return None


def _datum_numbers(datum):
    """(parameter name, value) for every number in one MetricDatum."""
    if "Value" in datum:
        yield "Value", datum["Value"]
    for value in datum.get("Values") or []:
        yield "Values", value
    for name, value in (datum.get("StatisticValues") or {}).items():
        yield f"StatisticValues.{name}", value


def _is_finite(value):
    # to_json_value turned non-finite floats into "NaN"/"Infinity" strings.
    return isinstance(value, (int, float)) and math.isfinite(value)


def _unique_metrics(metrics):
    """ListMetrics entries with duplicates removed, first occurrence kept."""
    seen = set()
    unique = []
    for metric in metrics:
        dimensions = tuple(
            sorted(
                (d.get("Name"), d.get("Value")) for d in metric.get("Dimensions") or []
            )
        )
        key = (metric.get("Namespace"), metric.get("MetricName"), dimensions)
        if key not in seen:
            seen.add(key)
            unique.append(metric)
    return unique
