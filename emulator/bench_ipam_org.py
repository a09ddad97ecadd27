"""IPAM-only run over an organization that exists only in IPAM (issue 16's target).

    .venv/bin/python emulator/bench_ipam_org.py [--subnets 10000] [--accounts 50]
        [--binary target/release/ipam-monitor-local]

Starts the emulator (no seed), installs an IPAM fixture of an organization of
--accounts accounts in four regions holding --subnets subnets in VPCs of ten
subnets each (none of which the emulator's EC2 has), runs the local monitor once
with SOURCE_MODE=ipam from the IPAM account, and prints wall time, the monitor's
peak RSS and the API calls by operation next to the expected count.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import os
import random
import resource
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"  # moto's default account: the IPAM account
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
IPAM = "ipam-0000000000000b0b0"
SCOPE = "ipam-scope-0000000000000b0b0"
ARN = f"arn:aws:ec2::{ACCOUNT}:ipam/{IPAM}"
SCOPE_ARN = f"arn:aws:ec2::{ACCOUNT}:ipam-scope/{SCOPE}"


def fixture(subnets, accounts):
    """The IPAM, its private scope and one resource CIDR per VPC and subnet."""
    rng = random.Random(16)
    entries = []
    vpcs = math.ceil(subnets / 10)
    for v in range(vpcs):
        owner = f"{100000000000 + v % accounts:012d}"
        region = REGIONS[v % len(REGIONS)]
        vpc_id = f"vpc-{v:017x}"
        net = ipaddress.ip_network(f"{10 + v // 4096}.{(v // 16) % 256}.{(v % 16) * 16}.0/20")
        entries.append(_entry("vpc", vpc_id, owner, region, str(net), vpc_id, 10 * 256 / 4096))
        for s, sub in enumerate(list(net.subnets(new_prefix=24))[:10]):
            if v * 10 + s >= subnets:
                break
            usage = None if rng.random() < 0.01 else round(rng.betavariate(2, 3), 4)
            entries.append(
                _entry("subnet", f"subnet-{v * 10 + s:017x}", owner, region, str(sub), vpc_id, usage)
            )
    return {
        "ipams": [{"IpamId": IPAM, "IpamArn": ARN, "IpamRegion": "us-east-1", "OwnerId": ACCOUNT,
                   "OperatingRegions": [{"RegionName": r} for r in REGIONS]}],
        "scopes": [{"IpamScopeId": SCOPE, "IpamScopeArn": SCOPE_ARN, "IpamArn": ARN,
                    "IpamRegion": "us-east-1", "IpamScopeType": "private", "OwnerId": ACCOUNT}],
        "pools": [],
        "resourceCidrs": entries,
    }


def _entry(kind, rid, owner, region, cidr, vpc_id, usage):
    e = {"IpamId": IPAM, "IpamScopeId": SCOPE, "ResourceType": kind, "ResourceId": rid,
         "ResourceOwnerId": owner, "ResourceRegion": region, "ResourceCidr": cidr,
         "VpcId": vpc_id, "ManagementState": "unmanaged"}
    if usage is not None:
        e["IpUsage"] = usage
    return e


def post(url, path, body=b""):
    req = urllib.request.Request(url + path, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subnets", type=int, default=10000)
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--binary", default=None)
    args = ap.parse_args()
    binary = args.binary or next(
        (str(p) for p in (ROOT / "target/release/ipam-monitor-local",
                          ROOT / "target/debug/ipam-monitor-local") if p.exists()), None)
    if binary is None:
        sys.exit("build the local runner first: cargo build --bin ipam-monitor-local")

    emu = subprocess.Popen([sys.executable, str(ROOT / "emulator/launch.py"), "--exit-on-stdin-eof"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = emu.stdout.readline().strip().removeprefix("READY ")
        fx = fixture(args.subnets, args.accounts)
        post(url, "/_emulator/ipam", json.dumps(fx).encode())
        post(url, "/_emulator/requests/reset")
        env = dict(os.environ, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
                   AWS_EC2_METADATA_DISABLED="true", SOURCE_MODE="ipam",
                   IPAM_REGIONS="us-east-1", REGIONS="all", METRICS_MODE="off",
                   RUST_LOG="warn")
        for k in ("SNS_TOPIC_ARN", "DOWNSTREAM_FUNCTIONS", "STATE_BUCKET"):
            env.pop(k, None)
        started = time.monotonic()
        run = subprocess.run([binary, "--json"], env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if run.returncode not in (0, 2):
            sys.exit(f"monitor failed ({run.returncode}): {run.stderr[-2000:]}")
        report = json.loads(run.stdout)
        with urllib.request.urlopen(url + "/_emulator/requests") as r:
            counts = json.loads(r.read())
    finally:
        emu.stdin.close()
        emu.wait(timeout=30)

    entries = len(fx["resourceCidrs"])
    s = report["summary"]
    from_ipam = sum(1 for r in report["resources"] if r.get("source") == "ipam")
    print(f"estate: {args.accounts} accounts x {len(REGIONS)} regions, {s['vpcs']} VPCs, "
          f"{s['subnets']} subnets, {entries} resource CIDR entries (binary {binary})")
    print(f"wall {wall:.2f} s, monitor peak RSS {peak_kb / 1024:.1f} MB")
    for op, n in sorted(counts.items()):
        print(f"  {op:<36} {n}")
    total = sum(counts.values())
    # GetCallerIdentity, DescribeIpams, DescribeIpamScopes, DescribeIpamPools, then
    # the resource CIDR pages of the one scope (no pools in this fixture).
    print(f"API calls: {total}; expected 4 + ceil({entries}/1000) = {4 + math.ceil(entries / 1000)}")
    print(f"records: {s['resources']} ({from_ipam} from IPAM), {s['critical']} critical, "
          f"{s['warning']} warning, {s['unknown']} unknown, errors {len(report['errors'])}")


if __name__ == "__main__":
    main()
