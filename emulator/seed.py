"""Seed a running AWS emulator with the demo estate.

    .venv/bin/python emulator/seed.py --endpoint-url http://127.0.0.1:PORT

Tests assert figures worked out by hand from DEMO_ESTATE, so change it only
together with them. Seed a fresh emulator: a region that already holds a
VPC other than moto's default is refused, since AWS (and moto) would accept
a second copy of the estate beside the first.

moto counts AvailableIpAddressCount as 2^(32-prefix) - 5, less one per
private IP on an ENI in the subnet; `used` below is that number of IPs.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import urllib.request
from dataclasses import dataclass, field

import boto3
from botocore.config import Config

ACCESS_KEY = "testing"
SECRET_KEY = "testing"

# Seed for moto's random generator, so resource ids (vpc-..., subnet-...,
# eni-...) come out the same on every run against a fresh emulator.
RANDOM_SEED = 42

# Real AWS allows at most 50 private IPs on one ENI (the largest instance
# types); moto has no limit, but staying within it keeps the estate realistic.
MAX_IPS_PER_ENI = 50

# AWS reserves the first four addresses of a subnet (and the last one), so
# the demo's ENIs take addresses from the fifth on.
FIRST_USABLE_OFFSET = 4


@dataclass(frozen=True)
class Subnet:
    name: str
    cidr: str
    zone: str
    used: int = 0  # private IPs held by ENIs in this subnet
    tags: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Vpc:
    name: str
    cidr: str
    subnets: tuple
    secondary_cidrs: tuple = ()


DEMO_ESTATE = {
    "us-east-1": (
        Vpc(
            name="prod-core",
            cidr="10.0.0.0/16",
            secondary_cidrs=("10.1.0.0/20",),
            subnets=(
                Subnet("prod-app-a", "10.0.0.0/20", "us-east-1a"),
                Subnet("prod-db-a", "10.0.16.0/24", "us-east-1a", used=240),
                Subnet("prod-edge-a", "10.0.17.0/28", "us-east-1b", used=9),
                Subnet(
                    "prod-tagged",
                    "10.0.18.0/26",
                    "us-east-1b",
                    used=30,
                    tags={"ipam-monitor:warning-percent": "50"},
                ),
                Subnet("prod-batch", "10.1.0.0/22", "us-east-1b"),
            ),
        ),
        Vpc(
            name="shared-services",
            cidr="10.2.0.0/22",
            subnets=tuple(
                Subnet(f"shared-{i}", f"10.2.{i}.0/24", "us-east-1a") for i in range(4)
            ),
        ),
    ),
    "eu-west-1": (
        Vpc(
            name="legacy-eu",
            cidr="10.0.128.0/20",
            subnets=(Subnet("legacy-eu-a", "10.0.128.0/24", "eu-west-1a"),),
        ),
        Vpc(
            name="eu-small",
            cidr="192.168.0.0/24",
            subnets=(
                Subnet("eu-small-a", "192.168.0.0/26", "eu-west-1a", used=50),
                Subnet("eu-small-b", "192.168.0.64/26", "eu-west-1a"),
            ),
        ),
    ),
}


def ec2_client(endpoint_url, region):
    """An EC2 client for the emulator, immune to the caller's AWS settings."""
    return boto3.client(
        "ec2",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        # proxies={} keeps proxy variables from the environment out of it.
        config=Config(proxies={}, retries={"mode": "standard"}),
    )


def seed_moto_random(endpoint_url, seed=RANDOM_SEED):
    """Make moto's id generator deterministic from here on."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/seed?a={seed}", method="POST"
    )
    with opener.open(request, timeout=10):
        pass


def name_tags(resource_type, name, extra=None):
    """TagSpecifications for a create call: Name plus any extra tags."""
    tags = {"Name": name, **(extra or {})}
    return [
        {
            "ResourceType": resource_type,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
    ]


def delete_default_vpcs(ec2):
    """Remove moto's default VPC (172.31.0.0/16) and its subnets.

    moto refuses DeleteVpc while subnets remain, so they go first; its
    default VPC has no internet gateway, and DeleteVpc itself drops the main
    route table and the default security group.
    """
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
    for vpc in vpcs["Vpcs"]:
        subnets = ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
        )
        for subnet in subnets["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        ec2.delete_vpc(VpcId=vpc["VpcId"])


def refuse_if_not_empty(ec2, region):
    """Raise if the region already has VPCs (run after delete_default_vpcs)."""
    existing = ec2.describe_vpcs()["Vpcs"]
    if existing:
        raise RuntimeError(
            f"{region} already has {len(existing)} VPC(s); seed a fresh emulator"
        )


def create_vpc(ec2, vpc):
    """Create the VPC with its secondary CIDRs; return its id."""
    vpc_id = ec2.create_vpc(
        CidrBlock=vpc.cidr, TagSpecifications=name_tags("vpc", vpc.name)
    )["Vpc"]["VpcId"]
    for cidr in vpc.secondary_cidrs:
        ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=cidr)
    return vpc_id


def create_subnet(ec2, vpc_id, subnet):
    """Create the subnet with its tags; return its id."""
    return ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock=subnet.cidr,
        AvailabilityZone=subnet.zone,
        TagSpecifications=name_tags("subnet", subnet.name, subnet.tags),
    )["Subnet"]["SubnetId"]


def used_addresses(subnet):
    """The `used` addresses of a subnet, in order from its fifth address.

    Explicit addresses rather than SecondaryPrivateIpAddressCount: moto
    draws those at random over the whole CIDR (network and broadcast
    included, duplicates possible), which would make the estate differ
    between runs.
    """
    network = ipaddress.ip_network(subnet.cidr)
    usable = network.num_addresses - 5
    if subnet.used > usable:
        raise ValueError(f"{subnet.name}: {subnet.used} used > {usable} usable")
    first = network.network_address + FIRST_USABLE_OFFSET
    return [str(first + i) for i in range(subnet.used)]


def occupy_addresses(ec2, subnet_id, subnet):
    """Create ENIs holding exactly `subnet.used` private IPs in the subnet."""
    addresses = used_addresses(subnet)
    for start in range(0, len(addresses), MAX_IPS_PER_ENI):
        chunk = addresses[start : start + MAX_IPS_PER_ENI]
        ec2.create_network_interface(
            SubnetId=subnet_id,
            PrivateIpAddresses=[
                {"PrivateIpAddress": ip, "Primary": i == 0}
                for i, ip in enumerate(chunk)
            ],
            TagSpecifications=name_tags(
                "network-interface", f"{subnet.name}-eni-{start // MAX_IPS_PER_ENI}"
            ),
        )


def seed_estate(endpoint_url, estate):
    """Create `estate` ({region: (Vpc, ...)}) after clearing default VPCs.

    Returns {region: {name: id}} for every VPC and subnet created.
    """
    seed_moto_random(endpoint_url)
    ids = {}
    for region, vpcs in estate.items():
        ec2 = ec2_client(endpoint_url, region)
        delete_default_vpcs(ec2)
        refuse_if_not_empty(ec2, region)
        region_ids = ids.setdefault(region, {})
        for vpc in vpcs:
            vpc_id = create_vpc(ec2, vpc)
            region_ids[vpc.name] = vpc_id
            for subnet in vpc.subnets:
                subnet_id = create_subnet(ec2, vpc_id, subnet)
                region_ids[subnet.name] = subnet_id
                occupy_addresses(ec2, subnet_id, subnet)
    return ids


def seed_demo(endpoint_url):
    """Seed the demo estate (DEMO_ESTATE) into the emulator at endpoint_url."""
    return seed_estate(endpoint_url, DEMO_ESTATE)


# Estates the CLIs can name with --seed.
SEEDS = {"demo": seed_demo}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True, help="the emulator's URL")
    parser.add_argument("--seed", choices=sorted(SEEDS), default="demo")
    args = parser.parse_args(argv)
    try:
        SEEDS[args.seed](args.endpoint_url.rstrip("/"))
    except Exception as error:  # report any failure as one line, not a traceback
        print(f"seed.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
