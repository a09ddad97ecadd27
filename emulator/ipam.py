"""Amazon VPC IPAM read APIs for the emulator, answered from a JSON fixture.

moto 5.2.5 implements no IPAM API. The middleware sends these EC2 query
protocol Actions here and every other EC2 Action on to moto:

    DescribeIpams  DescribeIpamScopes  DescribeIpamPools
    GetIpamPoolCidrs  GetIpamPoolAllocations  GetIpamResourceCidrs

Answers are EC2 XML as AWS sends it (<DescribeIpamsResponse xmlns=
"http://ec2.amazonaws.com/doc/2016-11-15/"> with <ipamSet><item>...),
element names taken from botocore's EC2 model.

Fixture
-------
    GET  /_emulator/ipam     the installed fixture ({} when none)
    POST /_emulator/ipam     replace it with the JSON body (400 lists problems)
    DELETE /_emulator/ipam   remove it (as does POST {} or POST /moto-api/reset)

With no fixture the account has no IPAM: Describe* answer empty sets, and
calls naming a pool or scope answer InvalidIpam*Id.NotFound, as AWS does.

    {
      "ipams":           [Ipam, ...],
      "scopes":          [IpamScope, ...],
      "pools":           [IpamPool, ...],
      "poolCidrs":       {"<IpamPoolId>": [IpamPoolCidr, ...]},
      "poolAllocations": {"<IpamPoolId>": [IpamPoolAllocation, ...]},
      "resourceCidrs":   [IpamResourceCidr, ...],
      "deny":            ["GetIpamResourceCidrs", ...]
    }

Every key is optional. Items are the API's own structures with its member
names and values, exactly as boto3 returns them ("IpamId", "IpamRegion",
"OperatingRegions": [{"RegionName": "eu-west-1"}], "Tags": [{"Key": "Name",
"Value": "x"}], "IpUsage": 0.25); members the model does not know are
ignored. Links: scopes and pools name their IPAM by IpamArn (pools their
scope by IpamScopeArn), resource CIDRs by IpamId and IpamScopeId; pool
CIDRs and allocations are keyed by pool id.

Visibility follows AWS: an IPAM and everything in it (pools of every
locale, resource CIDRs of every operating region) is read in the IPAM's
home region (IpamRegion) only and, when the IPAM has an OwnerId, by that
account only. The region is the SigV4 credential scope's.

"deny" is a fault switch ("AssumeRole:<account>" refuses STS AssumeRole into
that account); each EC2 Action listed there (IPAM or any other,
e.g. "DescribeSubnets") is answered with HTTP 403 UnauthorizedOperation.

Paging: MaxResults is checked against the model's range (5-1000; 1000-
100000 for GetIpamPoolAllocations) and defaults to 1000; NextToken is an
opaque token bound to the Action and its other parameters.
"""

from __future__ import annotations

import base64
import binascii
import copy
import fnmatch
import functools
import hashlib
import json
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import botocore.session

import aws_request

FIXTURE_PATH = "/_emulator/ipam"
EC2_XML_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
XML_CONTENT_TYPE = "text/xml;charset=UTF-8"
DEFAULT_MAX_RESULTS = 1000

FIXTURE_LISTS = ("ipams", "scopes", "pools", "resourceCidrs")
FIXTURE_MAPS = ("poolCidrs", "poolAllocations")
FIXTURE_KEYS = FIXTURE_LISTS + FIXTURE_MAPS + ("deny",)


class Ec2Error(Exception):
    """An EC2 error answer: <Response><Errors><Error><Code>..."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid_value(message):
    return Ec2Error(400, "InvalidParameterValue", message)


@functools.cache
def ec2_model():
    """botocore's EC2 model: member names, XML names and MaxResults ranges."""
    return botocore.session.get_session().get_service_model("ec2")


# --- the caller's view of the fixture ----------------------------------------


class View:
    """The part of the fixture one account sees in one region."""

    def __init__(self, fixture, region, account):
        self.ipams = [
            ipam
            for ipam in fixture.get("ipams", [])
            if ipam.get("IpamRegion") == region
            and ipam.get("OwnerId", account) == account
        ]
        arns = {ipam.get("IpamArn") for ipam in self.ipams}
        ids = {ipam.get("IpamId") for ipam in self.ipams}
        self.scopes = [s for s in fixture.get("scopes", []) if s.get("IpamArn") in arns]
        self.pools = [p for p in fixture.get("pools", []) if p.get("IpamArn") in arns]
        self.resource_cidrs = [
            r for r in fixture.get("resourceCidrs", []) if r.get("IpamId") in ids
        ]
        self._pool_cidrs = fixture.get("poolCidrs", {})
        self._allocations = fixture.get("poolAllocations", {})

    def pool(self, pool_id):
        return _find(
            self.pools, "IpamPoolId", pool_id, "ipam-pool", "InvalidIpamPoolId"
        )

    def scope(self, scope_id):
        return _find(
            self.scopes, "IpamScopeId", scope_id, "ipam-scope", "InvalidIpamScopeId"
        )

    def pool_cidrs(self, pool_id):
        return self._pool_cidrs.get(self.pool(pool_id)["IpamPoolId"], [])

    def allocations(self, pool_id):
        return self._allocations.get(self.pool(pool_id)["IpamPoolId"], [])


def _find(items, id_member, wanted, noun, error_prefix):
    for item in items:
        if item.get(id_member) == wanted:
            return item
    raise Ec2Error(
        400, f"{error_prefix}.NotFound", f"The {noun} ID '{wanted}' does not exist"
    )


def _by_ids(items, id_member, wanted, noun, error_prefix):
    """The items with the requested ids, in request order; all items if none asked."""
    if not wanted:
        return list(items)
    return [_find(items, id_member, one, noun, error_prefix) for one in wanted]


# --- the six operations ---------------------------------------------------------


def describe_ipams(view, params):
    wanted = list_param(params, "IpamId")
    return _by_ids(view.ipams, "IpamId", wanted, "ipam", "InvalidIpamId")


def describe_ipam_scopes(view, params):
    wanted = list_param(params, "IpamScopeId")
    return _by_ids(
        view.scopes, "IpamScopeId", wanted, "ipam-scope", "InvalidIpamScopeId"
    )


def describe_ipam_pools(view, params):
    wanted = list_param(params, "IpamPoolId")
    return _by_ids(view.pools, "IpamPoolId", wanted, "ipam-pool", "InvalidIpamPoolId")


def get_ipam_pool_cidrs(view, params):
    return view.pool_cidrs(required_param(params, "IpamPoolId"))


def get_ipam_pool_allocations(view, params):
    allocations = view.allocations(required_param(params, "IpamPoolId"))
    wanted = params.get("IpamPoolAllocationId")
    if not wanted:
        return allocations
    return [
        _find(
            allocations,
            "IpamPoolAllocationId",
            wanted,
            "ipam-pool-allocation",
            "InvalidIpamPoolAllocationId",
        )
    ]


def get_ipam_resource_cidrs(view, params):
    scope_id = view.scope(required_param(params, "IpamScopeId"))["IpamScopeId"]
    if params.get("IpamPoolId"):
        view.pool(params["IpamPoolId"])  # an unknown pool is an error, not a filter
    # Each request parameter narrows to resource CIDRs whose member matches.
    narrowing = {
        "IpamPoolId": params.get("IpamPoolId"),
        "ResourceId": params.get("ResourceId"),
        "ResourceType": params.get("ResourceType"),
        "ResourceOwnerId": params.get("ResourceOwner"),
    }
    found = [
        cidr
        for cidr in view.resource_cidrs
        if cidr.get("IpamScopeId") == scope_id
        and all(not want or cidr.get(name) == want for name, want in narrowing.items())
    ]
    tag_key = params.get("ResourceTag.Key")
    if tag_key:
        tag_value = params.get("ResourceTag.Value")
        found = [c for c in found if _has_tag(c, tag_key, tag_value)]
    return found


def _has_tag(item, key, value=None):
    return any(
        tag.get("Key") == key and (value is None or tag.get("Value") == value)
        for tag in _tags(item)
    )


@dataclass(frozen=True)
class OperationSpec:
    items: object  # (View, params) -> list of items
    list_member: str  # the output member holding the items


OPERATIONS = {
    "DescribeIpams": OperationSpec(describe_ipams, "Ipams"),
    "DescribeIpamScopes": OperationSpec(describe_ipam_scopes, "IpamScopes"),
    "DescribeIpamPools": OperationSpec(describe_ipam_pools, "IpamPools"),
    "GetIpamPoolCidrs": OperationSpec(get_ipam_pool_cidrs, "IpamPoolCidrs"),
    "GetIpamPoolAllocations": OperationSpec(
        get_ipam_pool_allocations, "IpamPoolAllocations"
    ),
    "GetIpamResourceCidrs": OperationSpec(get_ipam_resource_cidrs, "IpamResourceCidrs"),
}


# --- query parameters -------------------------------------------------------------


def required_param(params, name):
    value = params.get(name)
    if not value:
        raise Ec2Error(
            400, "MissingParameter", f"The request must contain the parameter {name}"
        )
    return value


def list_param(params, name):
    """Values of an EC2 query list (Name.1, Name.2, ...) in index order."""
    prefix = f"{name}."
    indexed = []
    for key, value in params.items():
        index = key[len(prefix) :]
        if key.startswith(prefix) and index.isdigit():
            indexed.append((int(index), value))
    return [value for _, value in sorted(indexed)]


def filters(params):
    """[(name, [values])] from Filter.N.Name / Filter.N.Value.M."""
    indexes = sorted(
        {int(key.split(".")[1]) for key in params if re.match(r"Filter\.\d+\.", key)}
    )
    return [
        (params.get(f"Filter.{i}.Name", ""), list_param(params, f"Filter.{i}.Value"))
        for i in indexes
    ]


# --- filters ------------------------------------------------------------------------


def apply_filters(items, item_shape, requested):
    """Items matching every filter (values may use EC2's * and ? wildcards).

    A filter name reads a member of the item: "ipam-scope-id" reads
    IpamScopeId or, where the item has only an ARN (pools), the id at the
    end of IpamScopeArn; "tag:Key" and "tag-key" read its tags. A name that
    maps to no member is refused, as AWS refuses unknown filters.
    """
    for name, values in requested:
        read = _filter_reader(name, item_shape)
        items = [
            item
            for item in items
            if any(
                fnmatch.fnmatchcase(got, want) for got in read(item) for want in values
            )
        ]
    return items


def _filter_reader(name, item_shape):
    """A function item -> [string values] that the filter `name` compares."""
    if name.startswith("tag:"):
        key = name[4:]
        return lambda item: [
            t.get("Value", "") for t in _tags(item) if t.get("Key") == key
        ]
    if name == "tag-key":
        return lambda item: [t.get("Key", "") for t in _tags(item)]
    member = "".join(part.capitalize() for part in name.split("-"))
    if member in item_shape.members:
        return lambda item: _text_values(item.get(member))
    arn_member = member[:-2] + "Arn" if member.endswith("Id") else None
    if arn_member in item_shape.members:
        return lambda item: _text_values(_id_in_arn(item.get(arn_member)))
    raise invalid_value(f"The filter '{name}' is invalid")


def _id_in_arn(arn):
    """The resource id at the end of an ARN (".../ipam-scope/ipam-scope-0abc")."""
    return arn.rsplit("/", 1)[-1] if arn else None


def _tags(item):
    return item.get("Tags") or item.get("ResourceTags") or []


def _text_values(value):
    if value is None:
        return []
    if isinstance(value, bool):
        return [str(value).lower()]
    return [str(value)]


# --- paging ---------------------------------------------------------------------------


def max_results(params, input_shape):
    """MaxResults from the request, checked against the model's range."""
    limits = input_shape.members["MaxResults"].metadata
    low, high = limits.get("min", 1), limits.get("max", DEFAULT_MAX_RESULTS)
    raw = params.get("MaxResults")
    if raw is None:
        return max(low, min(high, DEFAULT_MAX_RESULTS))
    try:
        value = int(raw)
    except ValueError:
        raise invalid_value(f"Invalid value '{raw}' for parameter maxResults") from None
    if value < low:
        raise invalid_value(
            f"Value ( {value} ) for parameter maxResults is invalid. "
            f"Expecting a value greater than or equal to {low}."
        )
    if value > high:
        raise invalid_value(
            f"Value ( {value} ) for parameter maxResults is invalid. "
            f"Expecting a value less than or equal to {high}."
        )
    return value


# Parameters that may change from page to page without breaking a token.
_PAGING_PARAMS = {"NextToken", "MaxResults", "Action", "Version", "DryRun"}


def _fingerprint(action, params):
    """A short digest of what the request asks for, so a token fits one query."""
    asked = sorted((k, v) for k, v in params.items() if k not in _PAGING_PARAMS)
    text = json.dumps([action, asked])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encode_token(action, params, offset):
    document = json.dumps({"f": _fingerprint(action, params), "o": offset})
    return base64.urlsafe_b64encode(document.encode("utf-8")).decode("ascii")


def decode_token(action, params):
    """The offset a NextToken points at (0 without one)."""
    token = params.get("NextToken")
    if not token:
        return 0
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        offset = int(document["o"])
        valid = document["f"] == _fingerprint(action, params) and offset >= 0
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        valid = False
    if not valid:
        raise Ec2Error(400, "InvalidNextToken", f"The token '{token}' is invalid")
    return offset


def page(items, action, params, input_shape):
    """(items on this page, NextToken or None)."""
    size = max_results(params, input_shape)
    start = decode_token(action, params)
    chosen = items[start : start + size]
    end = start + len(chosen)
    return chosen, (encode_token(action, params, end) if end < len(items) else None)


# --- XML ----------------------------------------------------------------------------------


def response_xml(action, output_shape, output):
    """The EC2 XML document for a successful call."""
    root = ET.Element(f"{action}Response", xmlns=EC2_XML_NAMESPACE)
    ET.SubElement(root, "requestId").text = str(uuid.uuid4())
    _append_members(root, output_shape, output)
    return _document(root)


def error_xml(code, message):
    """The EC2 error document: <Response><Errors><Error>...</Errors><RequestID>."""
    root = ET.Element("Response")
    error = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
    ET.SubElement(error, "Code").text = code
    ET.SubElement(error, "Message").text = message
    ET.SubElement(root, "RequestID").text = str(uuid.uuid4())
    return _document(root)


def _document(root):
    declaration = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return declaration + ET.tostring(root, encoding="unicode")


def _append_members(parent, shape, value):
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _append(parent, _xml_name(name, member), member, value[name])


def _xml_name(member_name, member_shape):
    # EC2 output members all carry a locationName; lowerCamel is the fallback.
    lower_camel = member_name[:1].lower() + member_name[1:]
    return member_shape.serialization.get("name") or lower_camel


def _append(parent, name, shape, value):
    element = ET.SubElement(parent, name)
    if shape.type_name == "structure":
        _append_members(element, shape, value)
    elif shape.type_name == "list":
        item_name = shape.member.serialization.get("name", "item")
        for item in value:
            _append(element, item_name, shape.member, item)
    elif shape.type_name == "boolean":
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


# --- fixture checks -----------------------------------------------------------------------


def fixture_problems(fixture):
    """Why a fixture cannot be installed, as a list of sentences (empty when fine)."""
    if not isinstance(fixture, dict):
        return ["the fixture must be a JSON object"]
    problems = [f"unknown key {key!r}" for key in fixture if key not in FIXTURE_KEYS]
    problems += _shape_problems(fixture)
    if problems:
        return problems
    return _link_problems(fixture)


def _shape_problems(fixture):
    problems = []
    for key in FIXTURE_LISTS:
        items = fixture.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            problems.append(f"{key} must be a list of objects")
    for key in FIXTURE_MAPS:
        groups = fixture.get(key, {})
        if not isinstance(groups, dict) or not all(
            isinstance(items, list) and all(isinstance(i, dict) for i in items)
            for items in groups.values()
        ):
            problems.append(f"{key} must map pool ids to lists of objects")
    deny = fixture.get("deny", [])
    if not isinstance(deny, list) or not all(isinstance(a, str) for a in deny):
        problems.append("deny must be a list of Action names")
    return problems


def _link_problems(fixture):
    problems = []
    ipams = fixture.get("ipams", [])
    ipam_arns = {i.get("IpamArn") for i in ipams}
    ipam_ids = {i.get("IpamId") for i in ipams}
    scope_ids = {s.get("IpamScopeId") for s in fixture.get("scopes", [])}
    pool_ids = {p.get("IpamPoolId") for p in fixture.get("pools", [])}
    for ipam in ipams:
        for member in ("IpamId", "IpamArn", "IpamRegion"):
            if not ipam.get(member):
                problems.append(f"an IPAM lacks {member}")
    for key, id_member in (("scopes", "IpamScopeId"), ("pools", "IpamPoolId")):
        for item in fixture.get(key, []):
            if not item.get(id_member):
                problems.append(f"an item of {key} lacks {id_member}")
            if item.get("IpamArn") not in ipam_arns:
                problems.append(f"{item.get(id_member)}: IpamArn names no IPAM")
    for key in FIXTURE_MAPS:
        unknown = [pool for pool in fixture.get(key, {}) if pool not in pool_ids]
        problems += [f"{key}: {pool} is no pool" for pool in unknown]
    for cidr in fixture.get("resourceCidrs", []):
        if (
            cidr.get("IpamId") not in ipam_ids
            or cidr.get("IpamScopeId") not in scope_ids
        ):
            problems.append(
                f"resource CIDR {cidr.get('ResourceCidr')}: IpamId or IpamScopeId unknown"
            )
    return problems


# --- the WSGI side ---------------------------------------------------------------------


class IpamEmulator:
    """Holds the fixture and answers IPAM Actions (and denied EC2 Actions)."""

    def __init__(self):
        # Replaced whole, never mutated, so a request reads one consistent
        # fixture without holding the lock.
        self._fixture = {}
        self._lock = threading.Lock()

    def install(self, fixture):
        """Replace the fixture; raise ValueError listing problems if it is invalid."""
        problems = fixture_problems(fixture)
        if problems:
            raise ValueError("; ".join(problems))
        with self._lock:
            self._fixture = copy.deepcopy(fixture)

    def clear(self):
        with self._lock:
            self._fixture = {}

    def fixture(self):
        return copy.deepcopy(self._fixture)

    def control_app(self, environ):
        """The WSGI app for /_emulator/ipam, or None for another path."""
        if environ.get("PATH_INFO") != FIXTURE_PATH:
            return None
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "GET":
            return aws_request.respond_json(200, self.fixture())
        if method == "DELETE":
            self.clear()
            return aws_request.respond_json(200, {})
        if method != "POST":
            return aws_request.respond_json(405, {"error": "use GET, POST or DELETE"})
        try:
            self.install(json.loads(aws_request.buffered_body(environ) or b"{}"))
        except ValueError as error:  # bad JSON or an invalid fixture
            return aws_request.respond_json(400, {"error": str(error)})
        return aws_request.respond_json(200, _summary(self._fixture))

    def route(self, environ, operation):
        """The WSGI app answering this EC2 request here, or None to leave it to moto."""
        if operation.service == "sts" and operation.action == "AssumeRole":
            return self._deny_assume_role(environ)
        if operation.service != "ec2" or operation.action is None:
            return None
        fixture = self._fixture
        action = operation.action
        if action in fixture.get("deny", []):
            return _error_app(_unauthorized(action))
        if action not in OPERATIONS:
            return None
        try:
            body = self._answer(environ, action, fixture)
        except Ec2Error as error:
            return _error_app(error)
        return aws_request.respond(200, body, XML_CONTENT_TYPE)

    def _deny_assume_role(self, environ):
        """AssumeRole into an account listed as "AssumeRole:<account>" in "deny" is
        refused as AWS refuses it (403 AccessDenied); moto itself grants every role."""
        role_arn = aws_request.query_params(environ).get("RoleArn", "")
        parts = role_arn.split(":")
        account = parts[4] if len(parts) > 4 else ""
        if f"AssumeRole:{account}" not in self._fixture.get("deny", []):
            return None
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            "<Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>User is not authorized to perform: sts:AssumeRole on resource: {role_arn}</Message>"
            "</Error><RequestId>emulator-deny</RequestId></ErrorResponse>"
        )
        return aws_request.respond(403, body, "text/xml")

    def _answer(self, environ, action, fixture):
        spec = OPERATIONS[action]
        operation = ec2_model().operation_model(action)
        item_shape = operation.output_shape.members[spec.list_member].member
        params = aws_request.query_params(environ)
        region = aws_request.region_of(environ)
        view = View(fixture, region, aws_request.account_of(environ))
        max_results(params, operation.input_shape)  # a bad MaxResults fails first
        items = apply_filters(spec.items(view, params), item_shape, filters(params))
        chosen, token = page(items, action, params, operation.input_shape)
        if params.get("DryRun", "").lower() == "true":
            raise Ec2Error(
                412,
                "DryRunOperation",
                "Request would have succeeded, but DryRun flag is set.",
            )
        output = {spec.list_member: chosen, "NextToken": token}
        return response_xml(action, operation.output_shape, output)


def _unauthorized(action):
    return Ec2Error(
        403,
        "UnauthorizedOperation",
        f"You are not authorized to perform this operation. User is not authorized "
        f"to perform: ec2:{action} (denied by the emulator's IPAM fixture)",
    )


def _error_app(error):
    body = error_xml(error.code, error.message)
    return aws_request.respond(error.status, body, XML_CONTENT_TYPE)


def _summary(fixture):
    """How many items of each kind the installed fixture holds."""
    counts = {key: len(fixture.get(key, [])) for key in FIXTURE_LISTS}
    for key in FIXTURE_MAPS:
        counts[key] = sum(len(items) for items in fixture.get(key, {}).values())
    counts["deny"] = sorted(fixture.get("deny", []))
    return {"installed": counts}
