"""Seed a running AWS emulator with the demo estate.

    .venv/bin/python emulator/seed.py --endpoint-url http://127.0.0.1:PORT

Tests assert figures worked out by hand from DEMO_ESTATE, so change it only
together with them. Seed a fresh emulator: a region that already holds a
VPC other than moto's default is refused, since AWS (and moto) would accept
a second copy of the estate beside the first.

moto counts AvailableIpAddressCount as 2^(32-prefix) - 5, less one per
private IP on an ENI in the subnet (and, with the emulator's patch, 16 per
IPv4 prefix); `used` below is that number of IPs. The EKS example's subnets
are filled by seed_eks instead, address by address (see held_addresses).

The demo seed also installs an IPAM fixture (emulator/ipam.py describes the
format) that matches the estate: see demo_ipam_fixture. Seeding ends by
zeroing the request counters, so a test counts only its own requests.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import sys
import urllib.request
from dataclasses import dataclass, field

import boto3
from botocore.config import Config

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
# moto's default account, the one the "testing" keys map to.
ACCOUNT_ID = "123456789012"

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


# Subnets EKS may use for cluster demo-eks carry this tag (the monitor groups
# EKS subnets by it).
EKS_CLUSTER = "demo-eks"
EKS_TAGS = {f"kubernetes.io/cluster/{EKS_CLUSTER}": "shared"}

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
        # The EKS example (issue 19): its addresses are placed by seed_eks, not
        # by `used`; see "the demo EKS cluster" below.
        Vpc(
            name="eks-demo",
            cidr="10.4.0.0/16",
            subnets=(
                Subnet("eks-nodes-a", "10.4.0.0/24", "us-east-1a", tags=EKS_TAGS),
                Subnet("eks-nodes-b", "10.4.1.0/24", "us-east-1b", tags=EKS_TAGS),
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
    return aws_client("ec2", endpoint_url, region)


def aws_client(service, endpoint_url, region):
    """A client of any service for the emulator, immune to the caller's AWS settings."""
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        # proxies={} keeps proxy variables from the environment out of it.
        # Path-style S3: the emulator has no per-bucket host names.
        config=Config(proxies={}, retries={"mode": "standard"}, s3={"addressing_style": "path"}),
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


# --- the demo EKS cluster (issue 19) ----------------------------------------
#
# Cluster demo-eks runs one node per AZ in eks-demo (10.4.0.0/16, us-east-1).
# Its story is the one issue 19 is about: node-a's subnet was filled while
# the VPC CNI handed out single secondary IPs, one here and one there; prefix
# delegation was switched on later and now needs whole free aligned /28s, of
# which almost none are left although most addresses are free.
#
# A /24 has 16 aligned /28s; the first holds AWS's four reserved addresses
# and the last the broadcast one, so at most 14 can ever be free. A /28 is
# free when none of its 16 addresses is AWS-reserved, held by an ENI (an
# address or inside a prefix) or inside a subnet CIDR reservation.
#
# eks-nodes-a 10.4.0.0/24 (us-east-1a), /28 by /28 (k: 10.4.0.16k/28):
#   0 node-a's primary 10.4.0.10 (and AWS's .0-.3)
#   1 2 3 5 6 7 8 11 12 14  one secondary IP each on node-a's first CNI ENI
#                           (.21 .37 .53 .85 .101 .117 .133 .181 .197 .229)
#   4 9   prefixes 10.4.0.64/28, 10.4.0.144/28 on node-a's second CNI ENI
#   10    .165 .170 on a detached (`available`) CNI ENI nobody will free
#   13    free: 10.4.0.208/28
#   15    the second CNI ENI's primary .245 (and the broadcast .255)
#   => 1 free /28 (largest free aligned block a /28); 46 addresses held
#      (14 IPs + 2 x 16 in prefixes), 205 of 251 usable free.
#
# eks-nodes-b 10.4.1.0/24 (us-east-1b):
#   0 node-b's primary 10.4.1.10;  1 the CNI ENI's primary .20
#   2 3   prefixes 10.4.1.32/28, 10.4.1.48/28 on that ENI
#   12 13 explicit reservation 10.4.1.192/27
#   4-11 14  free
#   => 9 free /28s (largest free aligned blocks: 10.4.1.64/26, 10.4.1.128/26);
#      34 addresses held (2 IPs + 2 x 16), 217 of 251 usable free (moto does
#      not count an explicit reservation as used).
#
# The seed's unittest recomputes both counts by brute force from what the
# emulator answers.

EKS_FREE_28S = {"eks-nodes-a": 1, "eks-nodes-b": 9}
EKS_LARGEST_FREE_PREFIXLEN = {"eks-nodes-a": 28, "eks-nodes-b": 26}

# The VPC CNI names the ENIs it creates "aws-K8S-<instance id>"
# (amazon-vpc-cni-k8s, pkg/awsutils: eniDescriptionPrefix).
CNI_DESCRIPTION_PREFIX = "aws-K8S-"


@dataclass(frozen=True)
class EksNode:
    name: str
    subnet: str
    address: str  # the instance's primary private IP


@dataclass(frozen=True)
class CniEni:
    """An ENI the VPC CNI made for `node`; the first address is its primary."""

    subnet: str
    node: str
    addresses: tuple
    prefixes: tuple = ()
    attached: bool = True


EKS_NODES = (
    EksNode("node-a", "eks-nodes-a", "10.4.0.10"),
    EksNode("node-b", "eks-nodes-b", "10.4.1.10"),
)

EKS_ENIS = (
    CniEni(
        "eks-nodes-a",
        "node-a",
        tuple(f"10.4.0.{i}" for i in (21, 37, 53, 85, 101, 117, 133, 181, 197, 229)),
    ),
    CniEni(
        "eks-nodes-a",
        "node-a",
        ("10.4.0.245",),
        prefixes=("10.4.0.64/28", "10.4.0.144/28"),
    ),
    CniEni("eks-nodes-a", "node-a", ("10.4.0.165", "10.4.0.170"), attached=False),
    CniEni(
        "eks-nodes-b",
        "node-b",
        ("10.4.1.20",),
        prefixes=("10.4.1.32/28", "10.4.1.48/28"),
    ),
)

# (subnet, CIDR, reservation type)
EKS_RESERVATIONS = (("eks-nodes-b", "10.4.1.192/27", "explicit"),)

EKS_REGION = "us-east-1"
# Any image id will do: moto launches it without looking it up.
EKS_NODE_IMAGE = "ami-12345678"


def held_addresses(subnet):
    """Addresses ENIs hold in the subnet: `used`, or the EKS layout's."""
    held = subnet.used
    held += sum(1 for node in EKS_NODES if node.subnet == subnet.name)
    for eni in EKS_ENIS:
        if eni.subnet == subnet.name:
            held += len(eni.addresses) + 16 * len(eni.prefixes)
    return held


def seed_eks(endpoint_url, ids):
    """Launch the EKS nodes and create their CNI ENIs and the reservation in the
    subnets seed_estate made; return {node name: instance id}."""
    ec2 = ec2_client(endpoint_url, EKS_REGION)
    region_ids = ids[EKS_REGION]
    nodes = {}
    for node in EKS_NODES:
        nodes[node.name] = ec2.run_instances(
            ImageId=EKS_NODE_IMAGE,
            InstanceType="m5.large",
            MinCount=1,
            MaxCount=1,
            SubnetId=region_ids[node.subnet],
            PrivateIpAddress=node.address,
            TagSpecifications=name_tags("instance", f"{EKS_CLUSTER}-{node.name}"),
        )["Instances"][0]["InstanceId"]
    next_device = {name: 1 for name in nodes}
    for eni in EKS_ENIS:
        instance_id = nodes[eni.node]
        eni_id = ec2.create_network_interface(
            SubnetId=region_ids[eni.subnet],
            Description=CNI_DESCRIPTION_PREFIX + instance_id,
            PrivateIpAddresses=[
                {"PrivateIpAddress": ip, "Primary": i == 0}
                for i, ip in enumerate(eni.addresses)
            ],
            Ipv4Prefixes=[{"Ipv4Prefix": p} for p in eni.prefixes],
        )["NetworkInterface"]["NetworkInterfaceId"]
        if eni.attached:
            ec2.attach_network_interface(
                NetworkInterfaceId=eni_id,
                InstanceId=instance_id,
                DeviceIndex=next_device[eni.node],
            )
            next_device[eni.node] += 1
    for subnet, cidr, kind in EKS_RESERVATIONS:
        ec2.create_subnet_cidr_reservation(
            SubnetId=region_ids[subnet], Cidr=cidr, ReservationType=kind
        )
    return {EKS_REGION: {**region_ids, **nodes}}


# --- the demo IPAM --------------------------------------------------------
#
# One IPAM (Advanced tier) in us-east-1 operating in both demo regions, with
# its two default scopes. The private scope holds:
#
#   top-ipv4   10.0.0.0/8     locale None       allocations: the two child pools
#   use1-ipv4  10.0.0.0/12    locale us-east-1  allocations: prod-core 10.0.0.0/16,
#                                               shared-services 10.2.0.0/22 (vpc),
#                                               10.3.0.0/16 (custom)
#   euw1-ipv4  10.16.0.0/12   locale eu-west-1  nothing allocated (a free pool)
#   use1-ipv6  fd00:10::/48   locale us-east-1  allocation: fd00:10::/56 (custom)
#
# The public scope has no pools. prod-core's secondary 10.1.0.0/20 and both
# eu-west-1 VPCs stay unmanaged: no allocation covers them.

IPAM_HOME_REGION = "us-east-1"
IPAM_OPERATING_REGIONS = ("us-east-1", "eu-west-1")

# (pool key, CIDR, locale, parent pool key, description); "None" is how AWS
# spells "no locale".
DEMO_POOLS = (
    ("top-ipv4", "10.0.0.0/8", "None", None, "organization IPv4 space"),
    ("use1-ipv4", "10.0.0.0/12", "us-east-1", "top-ipv4", "us-east-1 VPCs"),
    ("euw1-ipv4", "10.16.0.0/12", "eu-west-1", "top-ipv4", "eu-west-1 VPCs"),
    ("use1-ipv6", "fd00:10::/48", "us-east-1", None, "us-east-1 private IPv6"),
)

# VPCs (by name) whose primary CIDR is allocated from a pool.
DEMO_VPC_ALLOCATIONS = (
    ("use1-ipv4", "us-east-1", "prod-core", "10.0.0.0/16"),
    ("use1-ipv4", "us-east-1", "shared-services", "10.2.0.0/22"),
)

# Space reserved in a pool without a resource (AllocateIpamPoolCidr).
DEMO_CUSTOM_ALLOCATIONS = (
    ("use1-ipv4", "10.3.0.0/16", "reserved for the next prod VPC"),
    ("use1-ipv6", "fd00:10::/56", "reserved for the lab"),
)


def demo_id(prefix, name, digits=17):
    """A fixed, AWS-shaped id ("ipam-pool-0a1b...") for a named demo object."""
    digest = hashlib.sha256(f"{prefix}/{name}".encode()).hexdigest()
    return f"{prefix}-0{digest[: digits - 1]}"


def ipam_arn(kind, object_id, account=ACCOUNT_ID):
    """IPAM ARNs carry no region: arn:aws:ec2::<account>:ipam-pool/<id>."""
    return f"arn:aws:ec2::{account}:{kind}/{object_id}"


def demo_ipam_fixture(ids, estate=None, account=ACCOUNT_ID):
    """The IPAM fixture for the demo estate, given seed_estate's {region: {name: id}}.

    The one place the fixture is put together; the helpers below each
    build one of its parts.
    """
    estate = DEMO_ESTATE if estate is None else estate
    names = DemoIpamIds.for_demo()
    allocations, managed = _demo_allocations(ids, names, account)
    resource_cidrs = demo_resource_cidrs(ids, estate, managed, account)
    for entry in resource_cidrs:
        entry.update(IpamId=names.ipam, IpamScopeId=names.scopes["private"])
    return {
        "ipams": [_demo_ipam(names, account)],
        "scopes": _demo_scopes(names, account),
        "pools": _demo_pools(names, account),
        "poolCidrs": _demo_pool_cidrs(names),
        "poolAllocations": allocations,
        "resourceCidrs": resource_cidrs,
    }


@dataclass(frozen=True)
class DemoIpamIds:
    """The fixed ids of the demo IPAM, its scopes and pools."""

    ipam: str
    scopes: dict  # "private"/"public" -> scope id
    pools: dict  # pool key (DEMO_POOLS) -> pool id

    @classmethod
    def for_demo(cls):
        return cls(
            ipam=demo_id("ipam", "demo"),
            scopes={
                kind: demo_id("ipam-scope", kind) for kind in ("private", "public")
            },
            pools={key: demo_id("ipam-pool", key) for key, *_ in DEMO_POOLS},
        )


def _owned_by_demo_ipam(names, account):
    """The members every IPAM object repeats: owner, IPAM ARN, home region."""
    return {
        "OwnerId": account,
        "IpamArn": ipam_arn("ipam", names.ipam, account),
        "IpamRegion": IPAM_HOME_REGION,
    }


def _demo_ipam(names, account):
    return {
        **_owned_by_demo_ipam(names, account),
        "IpamId": names.ipam,
        "PublicDefaultScopeId": names.scopes["public"],
        "PrivateDefaultScopeId": names.scopes["private"],
        "ScopeCount": len(names.scopes),
        "Description": "demo IPAM",
        "OperatingRegions": [{"RegionName": r} for r in IPAM_OPERATING_REGIONS],
        "State": "create-complete",
        "Tier": "advanced",
        "DefaultResourceDiscoveryId": demo_id("ipam-res-disco", "demo"),
        "DefaultResourceDiscoveryAssociationId": demo_id(
            "ipam-res-disco-assoc", "demo"
        ),
        "ResourceDiscoveryAssociationCount": 1,
        "Tags": [{"Key": "Name", "Value": "demo-ipam"}],
    }


def _demo_scopes(names, account):
    """The two scopes every IPAM has; all demo pools are in the private one."""
    return [
        {
            **_owned_by_demo_ipam(names, account),
            "IpamScopeId": scope_id,
            "IpamScopeArn": ipam_arn("ipam-scope", scope_id, account),
            "IpamScopeType": kind,
            "IsDefault": True,
            "PoolCount": len(DEMO_POOLS) if kind == "private" else 0,
            "State": "create-complete",
        }
        for kind, scope_id in names.scopes.items()
    ]


def _demo_pools(names, account):
    pools = []
    for key, cidr, locale, parent, description in DEMO_POOLS:
        pool = {
            **_owned_by_demo_ipam(names, account),
            "IpamPoolId": names.pools[key],
            "IpamPoolArn": ipam_arn("ipam-pool", names.pools[key], account),
            "IpamScopeArn": ipam_arn("ipam-scope", names.scopes["private"], account),
            "IpamScopeType": "private",
            "Locale": locale,
            "PoolDepth": 1 if parent is None else 2,
            "State": "create-complete",
            "Description": description,
            "AutoImport": False,
            "AddressFamily": f"ipv{ipaddress.ip_network(cidr).version}",
            "Tags": [{"Key": "Name", "Value": key}],
        }
        if parent:
            pool["SourceIpamPoolId"] = names.pools[parent]
        pools.append(pool)
    return pools


def _demo_pool_cidrs(names):
    """Each pool has its one CIDR provisioned."""
    return {
        names.pools[key]: [
            {
                "Cidr": cidr,
                "State": "provisioned",
                "IpamPoolCidrId": demo_id("ipam-pool-cidr", cidr, 33),
                "NetmaskLength": ipaddress.ip_network(cidr).prefixlen,
            }
        ]
        for key, cidr, *_ in DEMO_POOLS
    }


def _demo_allocations(ids, names, account):
    """({pool id: [allocation]}, {(VPC id, CIDR): pool id} of managed VPC CIDRs)."""
    allocations = {pool_id: [] for pool_id in names.pools.values()}
    for key, cidr, _, parent, _ in DEMO_POOLS:
        if parent:  # a child pool's CIDR is an allocation in its parent
            allocations[names.pools[parent]].append(
                _allocation(
                    cidr, "ipam-pool", account, names.pools[key], IPAM_HOME_REGION
                )
            )
    managed = {}
    for key, region, vpc_name, cidr in DEMO_VPC_ALLOCATIONS:
        vpc_id = ids[region][vpc_name]
        allocations[names.pools[key]].append(
            _allocation(cidr, "vpc", account, vpc_id, region)
        )
        managed[(vpc_id, cidr)] = names.pools[key]
    for key, cidr, description in DEMO_CUSTOM_ALLOCATIONS:
        allocations[names.pools[key]].append(
            _allocation(cidr, "custom", account, description=description)
        )
    return allocations, managed


def _allocation(
    cidr, resource_type, account, resource_id=None, region=None, description=None
):
    """One GetIpamPoolAllocations entry; custom ones name no resource."""
    entry = {
        "Cidr": cidr,
        "IpamPoolAllocationId": demo_id("ipam-pool-alloc", cidr, 33),
        "ResourceType": resource_type,
        "ResourceOwner": account,
        "ResourceId": resource_id,
        "ResourceRegion": region,
        "Description": description,
    }
    return {key: value for key, value in entry.items() if value is not None}


def demo_resource_cidrs(ids, estate, managed, account=ACCOUNT_ID):
    """GetIpamResourceCidrs entries for every VPC CIDR and subnet of the estate.

    IpUsage is what IPAM reports: for a VPC CIDR the share of it covered by
    subnets, for a subnet used / usable addresses. A CIDR is managed when an
    allocation covers it (a subnet: when its VPC CIDR is managed), else
    unmanaged with compliance "unmanaged". Overlap compares a VPC CIDR with
    other VPCs' CIDRs and a subnet with other VPCs' subnets, so legacy-eu's
    10.0.128.0/20 and prod-core's 10.0.0.0/16 are both "overlapping".
    managed is {(VPC id, CIDR): pool id} for the allocated VPC CIDRs.
    """
    vpcs = [
        (region, vpc) for region, region_vpcs in estate.items() for vpc in region_vpcs
    ]
    entries = []
    for region, vpc in vpcs:
        others = [other for _, other in vpcs if other is not vpc]
        common = {
            "ResourceRegion": region,
            "ResourceOwnerId": account,
            "VpcId": ids[region][vpc.name],
        }
        entries += _vpc_cidr_entries(vpc, others, managed, common)
        entries += _subnet_entries(vpc, others, managed, common, ids[region])
    return entries


def _vpc_cidr_entries(vpc, others, managed, common):
    """One entry per CIDR block of the VPC (primary and secondary)."""
    vpc_id = common["VpcId"]
    other_cidrs = [c for other in others for c in (other.cidr, *other.secondary_cidrs)]
    entries = []
    for cidr in (vpc.cidr, *vpc.secondary_cidrs):
        block = ipaddress.ip_network(cidr)
        covered = sum(
            ipaddress.ip_network(s.cidr).num_addresses
            for s in vpc.subnets
            if ipaddress.ip_network(s.cidr).subnet_of(block)
        )
        entries.append(
            {
                **common,
                **_management(managed.get((vpc_id, cidr))),
                "ResourceId": vpc_id,
                "ResourceName": vpc.name,
                "ResourceCidr": cidr,
                "ResourceType": "vpc",
                "ResourceTags": [{"Key": "Name", "Value": vpc.name}],
                "IpUsage": covered / block.num_addresses,
                "OverlapStatus": _overlap(cidr, other_cidrs),
            }
        )
    return entries


def _subnet_entries(vpc, others, managed, common, region_ids):
    """One entry per subnet; it is managed when its VPC CIDR is."""
    other_subnets = [s.cidr for other in others for s in other.subnets]
    managed_here = {
        ipaddress.ip_network(cidr): pool
        for (vpc_id, cidr), pool in managed.items()
        if vpc_id == common["VpcId"]
    }
    entries = []
    for subnet in vpc.subnets:
        network = ipaddress.ip_network(subnet.cidr)
        pool = next((p for b, p in managed_here.items() if network.subnet_of(b)), None)
        tags = {"Name": subnet.name, **subnet.tags}
        entries.append(
            {
                **common,
                **_management(pool),
                "ResourceId": region_ids[subnet.name],
                "ResourceName": subnet.name,
                "ResourceCidr": subnet.cidr,
                "ResourceType": "subnet",
                "ResourceTags": [{"Key": k, "Value": v} for k, v in tags.items()],
                "IpUsage": held_addresses(subnet) / (network.num_addresses - 5),
                "OverlapStatus": _overlap(subnet.cidr, other_subnets),
            }
        )
    return entries


def _management(pool_id):
    """The management fields of a resource CIDR allocated from pool_id (or not)."""
    if pool_id is None:
        return {"ManagementState": "unmanaged", "ComplianceStatus": "unmanaged"}
    return {
        "ManagementState": "managed",
        "ComplianceStatus": "compliant",
        "IpamPoolId": pool_id,
    }


def _overlap(cidr, others):
    network = ipaddress.ip_network(cidr)
    hit = any(network.overlaps(ipaddress.ip_network(other)) for other in others)
    return "overlapping" if hit else "nonoverlapping"


def install_ipam_fixture(endpoint_url, fixture):
    """Replace the emulator's IPAM fixture (POST /_emulator/ipam)."""
    _post_json(endpoint_url, "/_emulator/ipam", fixture)


def _post_json(endpoint_url, path, document):
    """POST a JSON document to an emulator control endpoint."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"{endpoint_url}{path}",
        data=json.dumps(document).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with opener.open(request, timeout=30):
        pass


def reset_request_counts(endpoint_url):
    """Zero the emulator's request counters (POST /_emulator/requests/reset).

    Called once seeding is done, so the counts a test reads are its own
    requests, not the seed's.
    """
    _post_json(endpoint_url, "/_emulator/requests/reset", {})


# Where the demo run's sinks deliver (make run sets these in the environment).
SINK_REGION = "us-east-1"
ALERT_TOPIC = "ipam-alerts"
ALERT_QUEUE = "ipam-alerts-inbox"
CONSUMER_FUNCTION = "ipam-report-consumer"
# The run's memory and report archive (STATE_BUCKET).
STATE_BUCKET = "ipam-monitor-state"


def seed_sinks(endpoint_url, region=SINK_REGION):
    """An SNS topic with an SQS inbox subscribed (so alerts can be read back), a
    downstream Lambda function (moto's Docker-free backend accepts the invokes) and
    the state bucket."""
    sns = aws_client("sns", endpoint_url, region)
    sqs = aws_client("sqs", endpoint_url, region)
    topic_arn = sns.create_topic(Name=ALERT_TOPIC)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=ALERT_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    aws_client("s3", endpoint_url, region).create_bucket(Bucket=STATE_BUCKET)

    iam = aws_client("iam", endpoint_url, region)
    role = iam.create_role(
        RoleName="ipam-report-consumer-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    aws_client("lambda", endpoint_url, region).create_function(
        FunctionName=CONSUMER_FUNCTION,
        Runtime="provided.al2023",
        Role=role["Arn"],
        Handler="bootstrap",
        # A stand-in package: moto's Docker-free backend never runs it.
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    return {
        "topic_arn": topic_arn,
        "queue_url": queue_url,
        "function": CONSUMER_FUNCTION,
        "state_bucket": STATE_BUCKET,
    }


def seed_demo(endpoint_url):
    """Seed the demo estate (DEMO_ESTATE), its IPAM, and the sinks' targets."""
    ids = seed_estate(endpoint_url, DEMO_ESTATE)
    ids.update(seed_eks(endpoint_url, ids))
    install_ipam_fixture(endpoint_url, demo_ipam_fixture(ids))
    seed_sinks(endpoint_url)
    reset_request_counts(endpoint_url)
    return ids


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
