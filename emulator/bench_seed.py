"""Seed a large estate (thousands of subnets) into an in-process emulator, fast.

    .venv/bin/python emulator/bench_seed.py --subnets 10000 [--regions R1,R2] -- CMD...

Starts the emulator in this process (aws_emulator.start()), seeds it, prints
how long seeding took to stderr, runs CMD against it like with_emulator.py
(same environment) and exits with CMD's status. bench/emulator_bench.py uses
seed_bench() directly to measure a monitoring run.

Why not through the API: moto's CreateSubnet lists every subnet of the
region to check the new one for overlaps, so seeding N subnets costs O(N^2)
(minutes for 10k), and ENIs to make addresses "used" cost more still (moto's
AvailableIpAddressCount scans every ENI of the region for every subnet).
moto keeps its state in module globals, so code in the emulator's process
can build the same objects CreateVpc/CreateSubnet build, without the scans:

  * VPCs (and secondary CIDR blocks) through the EC2 backend's own
    create_vpc / associate_vpc_cidr_block: one call per VPC, not quadratic.
  * Subnets as moto.ec2.models.subnets.Subnet objects, registered exactly
    where create_subnet puts them (backend.subnets[zone][id], default
    network ACL association, tags), minus the per-call overlap scan; the
    layout never overlaps by construction.
  * Used addresses: Subnet._available_ip_addresses, the counter moto's
    AvailableIpAddressCount starts from, is lowered by the number of used
    addresses instead of creating ENIs. What DescribeSubnets answers is the
    same as with ENIs holding those addresses.

The estate, per region: VPCs of /20 holding 10 subnets each (/24.../28,
packed with gaps), a secondary 100.64.x.0/22 block with one subnet on every
tenth VPC, the last VPC of every region after the first reusing the first
region's first CIDR (an overlap across regions), a Name tag on every VPC
and subnet, and a spread of usage (most subnets 2-60 % used, some 60-95 %,
a few above 95 %). Plus an IPAM
fixture (a 10.0.0.0/8 top pool, one /10 pool per region, the VPC
allocations of 80 % of the VPCs, resource CIDRs for every VPC block and
subnet) and the sinks' targets of the demo seed (SNS topic with an SQS
inbox, the downstream function). Seeding ends by zeroing the request
counters.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import sys
import time

import aws_emulator
import seed
import with_emulator

ACCOUNT_ID = seed.ACCOUNT_ID
DEFAULT_REGIONS = ("us-east-1", "eu-west-1")
SUBNETS_PER_VPC = 10
RANDOM_SEED = 7

# Subnet prefix lengths and their weights.
SUBNET_PREFIXES = ((24, 15), (25, 15), (26, 25), (27, 25), (28, 20))


def _backend(region):
    # Imported here: moto must be imported after aws_emulator configured it.
    from moto.ec2.models import ec2_backends

    return ec2_backends[ACCOUNT_ID][region]


def _zones(region):
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    return [z for z in RegionsAndZonesBackend.zones[region]]


def index_tag_lookups():
    """Make moto find a resource's tags by its id instead of scanning every tag of
    the region (TaggedEC2Resource.get_tags -> describe_tags(resource-id filter)),
    which makes describing N tagged subnets cost O(N x tags). The answer is the
    same list moto builds (ids have a fixed length, so moto's anchored id regex
    matches exactly one id). Opt-in: it changes the emulator, not the program.
    """
    from moto.ec2.models.core import TaggedEC2Resource
    from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

    def get_tags(self):
        if not self.id:
            return []
        tags = self.ec2_backend.tags
        found = tags[self.id] if self.id in tags else {}
        kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
        return [
            {"resource_id": self.id, "key": k, "value": v, "resource_type": kind}
            for k, v in found.items()
        ]

    TaggedEC2Resource.get_tags = get_tags


def _delete_default_vpc(backend):
    for vpc in list(backend.vpcs.values()):
        if vpc.is_default:
            for subnet in backend.describe_subnets(filters={"vpc-id": vpc.id}):
                backend.delete_subnet(subnet.id)
            backend.delete_vpc(vpc.id)


def _used_share(rng):
    roll = rng.random()
    if roll < 0.01:
        return 1.0
    if roll < 0.05:
        return rng.uniform(0.95, 1.0)
    if roll < 0.15:
        return rng.uniform(0.8, 0.95)
    if roll < 0.40:
        return rng.uniform(0.6, 0.8)
    return rng.uniform(0.02, 0.6)


def _layout(rng, block, count):
    """`count` non-overlapping subnet networks inside `block`, largest first, with gaps."""
    prefixes = sorted(
        rng.choices(
            [p for p, _ in SUBNET_PREFIXES], [w for _, w in SUBNET_PREFIXES], k=count
        )
    )
    start = int(block.network_address)
    end = start + block.num_addresses
    cursor = start
    nets = []
    for prefix in prefixes:
        size = 1 << (32 - prefix)
        cursor = -(-cursor // size) * size
        if cursor + size > end:
            prefix, size = 28, 16  # squeeze the rest in as /28s
            cursor = -(-cursor // size) * size
            if cursor + size > end:
                break
        nets.append(ipaddress.IPv4Network((cursor, prefix)))
        cursor += size
        if rng.random() < 0.3:
            cursor += size
    return nets


class FastSubnets:
    """Creates subnets in one region's EC2 backend without moto's O(N) scans."""

    def __init__(self, backend):
        from moto.ec2.models.network_acls import NetworkAclAssociation
        from moto.ec2.models.subnets import Subnet
        from moto.ec2.utils import (
            random_network_acl_subnet_association_id,
            random_subnet_id,
        )

        self.backend = backend
        self.zones = {z.name: z for z in _zones(backend.region_name)}
        self._subnet = Subnet
        self._association = NetworkAclAssociation
        self._association_id = random_network_acl_subnet_association_id
        self._subnet_id = random_subnet_id
        self._default_acl = {}  # VPC id -> its default network ACL

    def create(self, vpc_id, cidr, zone, name, used):
        backend = self.backend
        subnet_id = self._subnet_id()
        default_for_az = len(backend.subnets.get(zone, {})) == 0
        subnet = self._subnet(
            backend,
            subnet_id,
            vpc_id,
            str(cidr),
            None,
            self.zones[zone],
            default_for_az,
            default_for_az,
        )
        subnet._available_ip_addresses -= used
        backend.create_tags([subnet_id], {"Name": name})
        acl = self._default_acl.get(vpc_id)
        if acl is None:
            acl = next(
                a
                for a in backend.network_acls.values()
                if a.default and a.vpc_id == vpc_id
            )
            self._default_acl[vpc_id] = acl
        association_id = self._association_id()
        acl._associations[association_id] = self._association(
            backend, association_id, subnet_id, acl.id
        )
        backend.subnets[zone][subnet_id] = subnet
        return subnet


def seed_region(rng, region, region_index, subnets, copy_cidr=None):
    """VPCs and subnets of one region; returns [(vpc_id, [cidr], [(subnet)...])]."""
    backend = _backend(region)
    _delete_default_vpc(backend)
    fast = FastSubnets(backend)
    zone_names = sorted(fast.zones)[:3]
    vpc_count = max(1, -(-subnets // SUBNETS_PER_VPC))
    created = []
    remaining = subnets
    for j in range(vpc_count):
        # Region r uses 10.(64r).0.0/10: /20 VPCs, 1024 of them at most.
        primary = ipaddress.IPv4Network((0x0A000000 + (region_index << 22) + (j << 12), 20))
        if copy_cidr is not None and j == vpc_count - 1:
            primary = copy_cidr  # same CIDR as a VPC of another region: an overlap
        name = f"bench-{region}-vpc-{j}"
        vpc = backend.create_vpc(str(primary), tags=[{"Key": "Name", "Value": name}])
        blocks = [primary]
        count = min(SUBNETS_PER_VPC, remaining)
        secondary = None
        if j % 10 == 9 and count >= 2:
            secondary = ipaddress.IPv4Network(
                (0x64400000 + (region_index << 20) + (j << 10), 22)
            )
            backend.associate_vpc_cidr_block(vpc.id, str(secondary), False)
            blocks.append(secondary)
        nets = _layout(rng, primary, count - (1 if secondary else 0))
        if secondary:
            nets.append(ipaddress.IPv4Network((int(secondary.network_address), 24)))
        subnets_here = []
        for k, net in enumerate(nets):
            usable = net.num_addresses - 5
            used = round(_used_share(rng) * usable)
            subnet = fast.create(
                vpc.id, net, zone_names[k % len(zone_names)], f"{name}-subnet-{k}", used
            )
            subnets_here.append((subnet.id, net, used, usable))
        remaining -= len(nets)
        created.append((vpc.id, name, blocks, subnets_here))
        if remaining <= 0:
            break
    return created


def bench_ipam_fixture(estate, regions):
    """An IPAM fixture for the bench estate ({region: seed_region's list})."""
    names = seed.DemoIpamIds(
        ipam=seed.demo_id("ipam", "bench"),
        scopes={k: seed.demo_id("ipam-scope", f"bench-{k}") for k in ("private", "public")},
        pools={},
    )
    owned = {
        "OwnerId": ACCOUNT_ID,
        "IpamArn": seed.ipam_arn("ipam", names.ipam),
        "IpamRegion": regions[0],
    }
    pools, pool_cidrs, allocations = [], {}, {}

    def pool(key, cidr, locale, parent, depth):
        pool_id = seed.demo_id("ipam-pool", f"bench-{key}")
        entry = {
            **owned,
            "IpamPoolId": pool_id,
            "IpamPoolArn": seed.ipam_arn("ipam-pool", pool_id),
            "IpamScopeArn": seed.ipam_arn("ipam-scope", names.scopes["private"]),
            "IpamScopeType": "private",
            "Locale": locale,
            "PoolDepth": depth,
            "State": "create-complete",
            "Description": key,
            "AutoImport": False,
            "AddressFamily": "ipv4",
            "Tags": [{"Key": "Name", "Value": key}],
        }
        if parent:
            entry["SourceIpamPoolId"] = parent
        pools.append(entry)
        pool_cidrs[pool_id] = [
            {
                "Cidr": cidr,
                "State": "provisioned",
                "IpamPoolCidrId": seed.demo_id("ipam-pool-cidr", cidr, 33),
                "NetmaskLength": ipaddress.ip_network(cidr).prefixlen,
            }
        ]
        allocations[pool_id] = []
        return pool_id

    def allocation(cidr, kind, resource_id=None, region=None):
        entry = {
            "Cidr": cidr,
            "IpamPoolAllocationId": seed.demo_id("ipam-pool-alloc", f"{cidr}/{resource_id}", 33),
            "ResourceType": kind,
            "ResourceOwner": ACCOUNT_ID,
        }
        if resource_id:
            entry["ResourceId"] = resource_id
        if region:
            entry["ResourceRegion"] = region
        return entry

    top = pool("top", "10.0.0.0/8", "None", None, 1)
    resource_cidrs = []
    for r, region in enumerate(regions):
        block = str(ipaddress.IPv4Network((0x0A000000 + (r << 22), 10)))
        regional = pool(f"{region}-ipv4", block, region, top, 2)
        allocations[top].append(allocation(block, "ipam-pool", regional))
        for j, (vpc_id, name, blocks, subnets) in enumerate(estate[region]):
            managed = j % 5 != 4 and blocks[0].subnet_of(ipaddress.IPv4Network(block))
            if managed:
                allocations[regional].append(
                    allocation(str(blocks[0]), "vpc", vpc_id, region)
                )
            common = {
                "IpamId": names.ipam,
                "IpamScopeId": names.scopes["private"],
                "ResourceRegion": region,
                "ResourceOwnerId": ACCOUNT_ID,
                "VpcId": vpc_id,
            }
            state = (
                {"ManagementState": "managed", "ComplianceStatus": "compliant", "IpamPoolId": regional}
                if managed
                else {"ManagementState": "unmanaged", "ComplianceStatus": "unmanaged"}
            )
            for b in blocks:
                covered = sum(n.num_addresses for _, n, _, _ in subnets if n.subnet_of(b))
                resource_cidrs.append(
                    {
                        **common,
                        **state,
                        "ResourceId": vpc_id,
                        "ResourceName": name,
                        "ResourceCidr": str(b),
                        "ResourceType": "vpc",
                        "IpUsage": covered / b.num_addresses,
                        "OverlapStatus": "nonoverlapping",
                    }
                )
            for subnet_id, net, used, usable in subnets:
                resource_cidrs.append(
                    {
                        **common,
                        **state,
                        "ResourceId": subnet_id,
                        "ResourceCidr": str(net),
                        "ResourceType": "subnet",
                        "IpUsage": used / usable,
                        "OverlapStatus": "nonoverlapping",
                    }
                )
    return {
        "ipams": [
            {
                **owned,
                "IpamId": names.ipam,
                "PublicDefaultScopeId": names.scopes["public"],
                "PrivateDefaultScopeId": names.scopes["private"],
                "ScopeCount": 2,
                "OperatingRegions": [{"RegionName": r} for r in regions],
                "State": "create-complete",
                "Tier": "advanced",
            }
        ],
        "scopes": [
            {
                **owned,
                "IpamScopeId": scope_id,
                "IpamScopeArn": seed.ipam_arn("ipam-scope", scope_id),
                "IpamScopeType": kind,
                "IsDefault": True,
                "PoolCount": len(pools) if kind == "private" else 0,
                "State": "create-complete",
            }
            for kind, scope_id in names.scopes.items()
        ],
        "pools": pools,
        "poolCidrs": pool_cidrs,
        "poolAllocations": allocations,
        "resourceCidrs": resource_cidrs,
    }


def seed_bench(endpoint_url, subnets, regions=DEFAULT_REGIONS):
    """Seed `subnets` subnets spread over `regions` into the emulator running in
    this process; returns {"seconds": ..., "vpcs": ..., "subnets": ..., ...}."""
    started = time.monotonic()
    seed.seed_moto_random(endpoint_url, RANDOM_SEED)
    rng = random.Random(RANDOM_SEED)
    estate = {}
    per_region = [subnets // len(regions)] * len(regions)
    per_region[0] += subnets - sum(per_region)
    for r, region in enumerate(regions):
        # The last VPC of every region but the first copies the first region's
        # first VPC CIDR: an overlap across regions.
        copy = ipaddress.IPv4Network("10.0.0.0/20") if r > 0 else None
        estate[region] = seed_region(rng, region, r, per_region[r], copy)
    ec2_seconds = time.monotonic() - started
    fixture = bench_ipam_fixture(estate, list(regions))
    seed.install_ipam_fixture(endpoint_url, fixture)
    sinks = seed.seed_sinks(endpoint_url)
    seed.reset_request_counts(endpoint_url)
    return {
        "seconds": time.monotonic() - started,
        "ec2_seconds": ec2_seconds,
        "regions": list(regions),
        "vpcs": sum(len(v) for v in estate.values()),
        "subnets": sum(len(s) for v in estate.values() for *_, s in v),
        "subnets_per_region": {
            region: sum(len(s) for *_, s in v) for region, v in estate.items()
        },
        "ipam_pools": len(fixture["pools"]),
        "ipam_resource_cidrs": len(fixture["resourceCidrs"]),
        "sinks": sinks,
    }


def main(argv=None):
    options, command = with_emulator.split_argv(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        usage="bench_seed.py --subnets N [--regions R1,R2] -- CMD [ARGS...]",
        description="Run CMD against an emulator seeded with a large estate.",
    )
    parser.add_argument("--subnets", type=int, required=True)
    parser.add_argument("--regions", default=",".join(DEFAULT_REGIONS))
    parser.add_argument(
        "--indexed-tags",
        action="store_true",
        help="look tags up by resource id (see index_tag_lookups)",
    )
    args = parser.parse_args(options)
    if args.indexed_tags:
        index_tag_lookups()
    if not command:
        parser.error("missing command: put it after `--`")
    emulator = aws_emulator.start()
    try:
        info = seed_bench(emulator.url, args.subnets, tuple(args.regions.split(",")))
        print(
            f"bench_seed.py: seeded {info['subnets']} subnets in {info['vpcs']} VPCs "
            f"in {info['seconds']:.1f} s",
            file=sys.stderr,
        )
        return with_emulator.run_command(command, with_emulator.emulator_env(emulator.url))
    finally:
        emulator.stop()


if __name__ == "__main__":
    aws_emulator.exit_fast(main())
