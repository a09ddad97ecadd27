"""Shared by the emulator's self-checks: a started emulator, and clients that
call it the way the project's Rust SDK clients do."""

from __future__ import annotations

import datetime
import gzip
import json
import os
import struct
import sys
import unittest
import urllib.error
import urllib.request

import boto3
import cbor2
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

EMULATOR_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if EMULATOR_DIR not in sys.path:
    sys.path.insert(0, EMULATOR_DIR)

import aws_emulator  # noqa: E402  (needs EMULATOR_DIR on sys.path)

ACCESS_KEY = "testing"
SECRET_KEY = "testing"

# The Rust SDK gzips request bodies of at least this many bytes (its
# request_min_compression_size_bytes default) for operations that allow it.
RUST_MIN_COMPRESSION_BYTES = 10240

# No proxies: a proxy from the environment must never see loopback calls.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorTestCase(unittest.TestCase):
    """Starts one emulator for the test class; stops it afterwards."""

    @classmethod
    def setUpClass(cls):
        cls.emulator = aws_emulator.start()
        cls.addClassCleanup(cls.emulator.stop)
        cls.url = cls.emulator.url

    def client(self, service, region="us-east-1", **credentials):
        """A boto3 client for the emulator.

        botocore's client-side range checks are off: the Rust SDK sends an
        out-of-range MaxResults as is, and the service must refuse it.
        """
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=credentials.get("AccessKeyId", ACCESS_KEY),
            aws_secret_access_key=credentials.get("SecretAccessKey", SECRET_KEY),
            aws_session_token=credentials.get("SessionToken"),
            config=Config(
                proxies={}, retries={"max_attempts": 1}, parameter_validation=False
            ),
        )

    def control(self, method, path, document=None):
        """Call an emulator control endpoint; return (status, decoded JSON)."""
        data = None if document is None else json.dumps(document).encode("utf-8")
        status, _, body = http(method, self.url + path, data)
        return status, json.loads(body or b"null")

    def request_counts(self):
        status, counts = self.control("GET", "/_emulator/requests")
        self.assertEqual(status, 200)
        return counts


def http(method, url, data=None, headers=None):
    """One HTTP exchange; returns (status, lower-cased headers, body) for any status."""
    request = urllib.request.Request(
        url, data=data, headers=headers or {}, method=method
    )
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), error.read()


def _lower(headers):
    return {name.lower(): value for name, value in headers.items()}


def signed_headers(method, url, body, service, region, headers):
    """headers plus a real SigV4 signature, as every SDK sends them."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, region).add_auth(request)
    return dict(request.headers.items())


# --- CloudWatch as the Rust SDK calls it --------------------------------------


def rust_cbor(value):
    """CBOR encoded the way aws-smithy-cbor's Encoder writes it.

    Structures are indefinite-length maps, lists definite-length arrays,
    doubles always 64-bit floats, timestamps tag 1 around a 64-bit float of
    epoch seconds.
    """
    if isinstance(value, dict):
        items = b"".join(
            cbor2.dumps(key) + rust_cbor(item) for key, item in value.items()
        )
        return b"\xbf" + items + b"\xff"
    if isinstance(value, list):
        return _array_head(len(value)) + b"".join(rust_cbor(item) for item in value)
    if isinstance(value, datetime.datetime):
        return b"\xc1\xfb" + struct.pack(">d", value.timestamp())
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    return cbor2.dumps(value)  # text, integers, booleans


def _array_head(length):
    """The CBOR head of a definite array (major type 4) of `length` items."""
    if length < 24:
        return bytes([0x80 | length])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if length < 1 << (8 * size):
            return bytes([0x80 | info]) + length.to_bytes(size, "big")
    raise ValueError("array too long")


class CborAnswer:
    """A decoded rpcv2Cbor answer: status, headers, raw body and decoded body."""

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.body = cbor2.loads(raw) if raw else None


def cloudwatch_cbor(url, operation, params, region="us-east-1", compress=None):
    """POST one CloudWatch operation as the Rust aws-sdk-cloudwatch does.

    compress None gzips the body from RUST_MIN_COMPRESSION_BYTES on, like
    the SDK does for PutMetricData.
    """
    body = rust_cbor(params)
    headers = {
        "content-type": "application/cbor",
        "accept": "application/cbor",
        "smithy-protocol": "rpc-v2-cbor",
        "x-amzn-query-mode": "true",
    }
    if compress or (compress is None and len(body) >= RUST_MIN_COMPRESSION_BYTES):
        body = gzip.compress(body)
        headers["content-encoding"] = "gzip"
    target = f"{url}/service/GraniteServiceVersion20100801/operation/{operation}"
    headers = signed_headers("POST", target, body, "monitoring", region, headers)
    return CborAnswer(*http("POST", target, body, headers))


def botocore_cbor_client(url, region="us-east-1"):
    """A boto3 CloudWatch client forced onto RPC v2 CBOR.

    botocore prefers awsJson1_0 for CloudWatch when it has the choice, so
    the model's protocol list is narrowed in a private data path: the
    result is a second, independent CBOR encoder and decoder (with typed
    errors) to check the bridge against.
    """
    import tempfile

    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    document = loader.load_service_model("cloudwatch", "service-2")
    document["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
    data_path = tempfile.mkdtemp(prefix="cw-cbor-model-")
    version_dir = os.path.join(
        data_path, "cloudwatch", document["metadata"]["apiVersion"]
    )
    os.makedirs(version_dir)
    with open(os.path.join(version_dir, "service-2.json"), "w") as out:
        json.dump(document, out)
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, data_path)
    return boto3.Session(botocore_session=session).client(
        "cloudwatch",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(proxies={}, retries={"max_attempts": 1}),
    )
