"""IPv4 prefixes (/28) on network interfaces, which moto 5.2.5 accepts and drops.

moto's CreateNetworkInterface and AssignPrivateIpAddresses take Ipv4Prefixes
and Ipv4PrefixCount without error but store nothing, so DescribeNetworkInterfaces
never lists an ipv4PrefixSet and the subnet's AvailableIpAddressCount ignores
prefixes. Everything else about ENIs (secondary IPs, the subnet-id filter,
Status, InterfaceType, Description) and subnet CIDR reservations moto serves
itself.

This is the emulator's one patch of moto code rather than a route in front of
it: the prefixes live on moto's own NetworkInterface objects, so they are kept
per account and region, vanish with DeleteNetworkInterface and with
POST /moto-api/reset, and moto's serializer writes them (it reads the
attribute `ipv4_prefixes` for the model member Ipv4Prefixes) as

    <ipv4PrefixSet><item><ipv4Prefix>10.0.1.16/28</ipv4Prefix></item></ipv4PrefixSet>

A route would need a second copy of ENI state and a rewrite of moto's XML.

What is patched:
    CreateNetworkInterface      Ipv4Prefixes (explicit) or Ipv4PrefixCount
    AssignPrivateIpAddresses    Ipv4Prefixes or Ipv4PrefixCount
    UnassignPrivateIpAddresses  Ipv4Prefixes
    Subnet AvailableIpAddressCount  less 16 per prefix, as AWS counts them

Rules (AWS's, as far as they matter for address maps): a prefix is an aligned
/28 inside the subnet that holds none of AWS's five reserved addresses and
overlaps no address or prefix already on an ENI of the subnet. A count picks
the lowest such /28s, inside the subnet's `prefix` reservations first and
never inside an `explicit` one (AWS assigns from prefix reservations and
leaves explicit ones to you); with too few it fails InsufficientCidrBlocks.
"""

from __future__ import annotations

import functools
import ipaddress

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.subnets import Subnet
from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces

PREFIX_LENGTH = 28
PREFIX_SIZE = 2 ** (32 - PREFIX_LENGTH)


def install():
    """Patch moto once per process (later calls do nothing)."""
    if getattr(NetworkInterface, "ipv4_prefixes", "unset") != "unset":
        return
    # None, not []: the serializer leaves a None member out, as AWS does for
    # an ENI without prefixes.
    NetworkInterface.ipv4_prefixes = None
    responses = ElasticNetworkInterfaces
    responses.create_network_interface = _after(
        responses.create_network_interface, _on_create
    )
    responses.assign_private_ip_addresses = _after(
        responses.assign_private_ip_addresses, _on_assign
    )
    responses.unassign_private_ip_addresses = _after(
        responses.unassign_private_ip_addresses, _on_unassign
    )
    count = Subnet.available_ip_address_count
    Subnet.available_ip_address_count = property(
        lambda subnet: count.fget(subnet) - _prefix_addresses(subnet)
    )


def _after(original, handle):
    """original, then handle(response, result): moto answers first, so its own
    checks (unknown subnet or ENI, DryRun) fail the call before ours run."""

    @functools.wraps(original)
    def wrapper(self):
        result = original(self)
        handle(self, result)
        return result

    return wrapper


# --- the three Actions -----------------------------------------------------


def _on_create(response, result):
    eni = result.result["NetworkInterface"]
    wanted = [p["Ipv4Prefix"] for p in response._get_param("Ipv4Prefixes", [])]
    count = response._get_int_param("Ipv4PrefixCount", 0)
    try:
        _add_prefixes(response.ec2_backend, eni, wanted, count)
    except EC2ClientError:
        # AWS creates no ENI when its prefixes cannot be had.
        response.ec2_backend.delete_network_interface(eni.id)
        raise


def _on_assign(response, result):
    eni = response.ec2_backend.get_network_interface(
        response._get_param("NetworkInterfaceId")
    )
    wanted = response._get_param("Ipv4Prefixes", [])
    count = response._get_int_param("Ipv4PrefixCount", 0)
    added = _add_prefixes(response.ec2_backend, eni, wanted, count)
    if added:
        result.result["AssignedIpv4Prefixes"] = added


def _on_unassign(response, result):
    eni = response.ec2_backend.get_network_interface(
        response._get_param("NetworkInterfaceId")
    )
    gone = {str(_network(p)) for p in response._get_param("Ipv4Prefixes", [])}
    kept = [p for p in eni.ipv4_prefixes or [] if p["Ipv4Prefix"] not in gone]
    eni.ipv4_prefixes = kept or None


# --- choosing and checking prefixes ------------------------------------------


def _add_prefixes(backend, eni, wanted, count):
    """Put the wanted prefixes, or `count` chosen ones, on the ENI; return
    the added ones as [{"Ipv4Prefix": ...}]."""
    if wanted and count:
        raise _invalid("Ipv4Prefixes and Ipv4PrefixCount cannot be used together")
    if not wanted and not count:
        return []
    subnet = eni.subnet
    block = ipaddress.ip_network(subnet.cidr_block)
    taken = _taken(backend, subnet)
    chosen = []
    for text in wanted:
        prefix = _network(text)
        if prefix.prefixlen != PREFIX_LENGTH or not prefix.subnet_of(block):
            raise _invalid(f"{text} is not a /28 of the subnet {block}")
        if any(prefix.overlaps(other) for other in taken + chosen):
            raise _invalid(f"{text} overlaps addresses already in use in {block}")
        chosen.append(prefix)
    if count:
        chosen = _lowest_free(subnet, block, taken, count)
    added = [{"Ipv4Prefix": str(p)} for p in chosen]
    eni.ipv4_prefixes = (eni.ipv4_prefixes or []) + added
    return added


def _lowest_free(subnet, block, taken, count):
    reserved = {"prefix": [], "explicit": []}
    for reservation in subnet._cidr_reservations:
        if reservation.cidr.version == 4:
            reserved[reservation.reservation_type].append(reservation.cidr)
    candidates = list(block.subnets(new_prefix=PREFIX_LENGTH))
    in_prefix_reservations = [
        c for c in candidates if any(c.subnet_of(r) for r in reserved["prefix"])
    ]
    outside = [
        c
        for c in candidates
        if not any(c.overlaps(r) for r in reserved["prefix"] + reserved["explicit"])
    ]
    chosen = []
    for candidate in in_prefix_reservations + outside:
        if len(chosen) == count:
            break
        if not any(candidate.overlaps(other) for other in taken):
            chosen.append(candidate)
    if len(chosen) < count:
        raise EC2ClientError(
            "InsufficientCidrBlocks",
            "The specified subnet does not have enough free cidr blocks "
            "to satisfy the request.",
        )
    return chosen


def _taken(backend, subnet):
    """Every network in the subnet a new prefix must not overlap: AWS's five
    reserved addresses and each address and prefix of the subnet's ENIs."""
    block = ipaddress.ip_network(subnet.cidr_block)
    first = block.network_address
    taken = [ipaddress.ip_network(f"{first + i}/32") for i in range(4)]
    taken.append(ipaddress.ip_network(f"{block.broadcast_address}/32"))
    for eni in backend.enis.values():
        if eni.subnet.id != subnet.id:
            continue
        for address in eni.private_ip_addresses:
            taken.append(ipaddress.ip_network(f"{address['PrivateIpAddress']}/32"))
        taken += [_network(p["Ipv4Prefix"]) for p in eni.ipv4_prefixes or []]
    return taken


def _prefix_addresses(subnet):
    """Addresses the subnet's ENI prefixes hold, beyond those moto already
    subtracts for `prefix` reservations."""
    reserved = [
        r.cidr
        for r in subnet._cidr_reservations
        if r.reservation_type == "prefix" and r.cidr.version == 4
    ]
    held = 0
    for eni in subnet.ec2_backend.enis.values():
        if eni.subnet.id != subnet.id:
            continue
        for item in eni.ipv4_prefixes or []:
            prefix = _network(item["Ipv4Prefix"])
            if not any(prefix.subnet_of(r) for r in reserved):
                held += prefix.num_addresses
    return held


def _network(text):
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        raise _invalid(f"{text} is not an IPv4 CIDR block on its boundary") from None


def _invalid(message):
    return EC2ClientError("InvalidParameterValue", message)
