"""One full monitoring run against the local emulator, per estate size.

    .venv/bin/python bench/emulator_bench.py [--sizes 1000,10000] [--binary PATH]
                                             [--tags moto|indexed] [--out DIR]

For each size, in a fresh Python process (moto's state is process-global):
start the emulator in-process, seed it fast (emulator/bench_seed.py; timed on
its own), zero the request counters, run `ipam-monitor-local --json` under
/usr/bin/time -v with RUST_LOG=info, and collect:

  * wall time of the monitor process, its CPU time (user+sys) and peak RSS;
  * the emulator's CPU time over the same interval (this process's rusage:
    the emulator's server threads live here, and this thread only waits);
  * the phases of the run from the monitor's log timestamps;
  * API requests by operation (GET /_emulator/requests), checked against the
    targets: DescribeSubnets pages per scope vs ceil(subnets/1000) (moto
    ignores MaxResults and answers in one page, so this is 1 here whatever
    the size; the paging target is verified with aws-smithy-mocks tests),
    PutMetricData requests vs ceil(metrics/1000), one SNS Publish.

--tags indexed makes moto look a resource's tags up by id (bench_seed.
index_tag_lookups) instead of scanning every tag of the region per
resource; the default (moto) measures the stock emulator.

Prints a table and writes DIR/emulator-<size>[-indexed].json and the monitor's
stderr (its log and /usr/bin/time -v) as .log (DIR: bench/target/results).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import resource
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "emulator"))

import aws_emulator  # noqa: E402
import bench_seed  # noqa: E402
import with_emulator  # noqa: E402

REGIONS = ("us-east-1", "eu-west-1")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\s+(\w+)\s+(.*)$")


def default_binary():
    for profile in ("release", "debug"):
        path = os.path.join(ROOT, "target", profile, "ipam-monitor-local")
        if os.path.exists(path):
            return path
    return os.path.join(ROOT, "target", "debug", "ipam-monitor-local")


def get_json(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as response:
        return json.loads(response.read())


def cpu_seconds(usage):
    return usage.ru_utime + usage.ru_stime


def parse_time_v(text):
    """The figures of /usr/bin/time -v we use."""
    fields = {}
    for line in text.splitlines():
        key, _, value = line.strip().rpartition(": ")
        if key == "User time (seconds)":
            fields["user_s"] = float(value)
        elif key == "System time (seconds)":
            fields["sys_s"] = float(value)
        elif key == "Maximum resident set size (kbytes)":
            fields["max_rss_kb"] = int(value)
    return fields


def parse_log(text):
    """[(unix seconds, level, message and fields)] of the monitor's log lines."""
    lines = []
    for raw in text.splitlines():
        m = LOG_LINE.match(ANSI.sub("", raw).strip())
        if not m:
            continue
        ts = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
        lines.append((ts.timestamp(), m.group(2), m.group(3)))
    return lines


def phases(log, spawned_at, exited_at):
    """Seconds spent in each phase of the run, from the log's milestones."""

    def last(word):
        found = [t for t, _, msg in log if msg.startswith(word)]
        return found[-1] if found else None

    def sink(name):
        found = [
            t
            for t, _, msg in log
            if msg.startswith("sink ") and re.search(rf'\bsink="?{name}\b', msg)
        ]
        return found[-1] if found else None

    marks = [("process start", spawned_at), ("run started", last("run started"))]
    scanned = [t for t, _, msg in log if msg.startswith(("scope scanned", "IPAM scanned", "scope failed"))]
    marks.append(("scopes scanned", max(scanned) if scanned else None))
    for name in ("cloudwatch", "sns", "downstream"):
        marks.append((f"sink {name} done", sink(name)))
    marks.append(("run finished", last("run finished")))
    marks.append(("process exit", exited_at))
    known = [(n, t) for n, t in marks if t is not None]
    out = []
    for (a, ta), (b, tb) in zip(known, known[1:]):
        out.append({"from": a, "to": b, "seconds": round(tb - ta, 3)})
    return out


def run_one(size, binary, tags, log_path=None):
    if tags == "indexed":
        bench_seed.index_tag_lookups()
    emulator = aws_emulator.start()
    try:
        seeded = bench_seed.seed_bench(emulator.url, size, REGIONS)
        env = with_emulator.emulator_env(emulator.url)
        env.update(
            REGIONS=",".join(REGIONS),
            SNS_TOPIC_ARN=seeded["sinks"]["topic_arn"],
            DOWNSTREAM_FUNCTIONS=seeded["sinks"]["function"],
            METRICS_MODE="api",
            RUST_LOG="info",
            NO_COLOR="1",
        )
        before = resource.getrusage(resource.RUSAGE_SELF)
        spawned_at = time.time()
        started = time.monotonic()
        proc = subprocess.run(
            ["/usr/bin/time", "-v", binary, "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            check=False,
        )
        wall = time.monotonic() - started
        exited_at = time.time()
        after = resource.getrusage(resource.RUSAGE_SELF)
        counts = get_json(emulator.url + "/_emulator/requests")
    finally:
        emulator.stop()

    stderr = proc.stderr.decode("utf-8", "replace")
    if log_path:
        with open(log_path, "w") as f:
            f.write(stderr)
    timing = parse_time_v(stderr)
    log = parse_log(stderr)
    report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    metrics = requests = chunks = None
    for _, _, msg in log:
        m = re.search(r"(\d+) metrics in (\d+) PutMetricData", msg)
        if m:
            metrics, requests = int(m.group(1)), int(m.group(2))
        m = re.search(r"(\d+) chunk\(s\) sent", msg)
        if m:
            chunks = int(m.group(1))
    finished = [msg for _, _, msg in log if msg.startswith("run finished")]
    duration_ms = None
    if finished:
        m = re.search(r"duration_ms=(\d+)", finished[-1])
        duration_ms = int(m.group(1)) if m else None

    scopes = len(REGIONS)
    per_scope = max(seeded["subnets_per_region"].values())
    program_cpu = timing.get("user_s", 0) + timing.get("sys_s", 0)
    emulator_cpu = cpu_seconds(after) - cpu_seconds(before)
    describe_subnets = counts.get("ec2:DescribeSubnets", 0)
    return {
        "size": size,
        "binary": os.path.relpath(binary, ROOT),
        "tags": tags,
        "exit_status": proc.returncode,
        "seeding": {
            "seconds": round(seeded["seconds"], 2),
            "ec2_seconds": round(seeded["ec2_seconds"], 2),
            "vpcs": seeded["vpcs"],
            "subnets": seeded["subnets"],
            "subnets_per_region": seeded["subnets_per_region"],
            "ipam_pools": seeded["ipam_pools"],
            "ipam_resource_cidrs": seeded["ipam_resource_cidrs"],
        },
        "resources": report.get("summary", {}).get("resources"),
        "wall_s": round(wall, 3),
        "run_duration_ms": duration_ms,
        "program_cpu_s": round(program_cpu, 3),
        "program_user_s": timing.get("user_s"),
        "program_sys_s": timing.get("sys_s"),
        "emulator_cpu_s": round(emulator_cpu, 3),
        "program_cpu_share_of_wall": round(program_cpu / wall, 3) if wall else None,
        "emulator_cpu_share_of_wall": round(emulator_cpu / wall, 3) if wall else None,
        "peak_rss_mb": round(timing.get("max_rss_kb", 0) / 1024, 1),
        "phases": phases(log, spawned_at, exited_at),
        "requests": dict(sorted(counts.items())),
        "checks": {
            "scopes": scopes,
            "describe_subnets_requests": describe_subnets,
            "describe_subnets_pages_per_scope": describe_subnets / scopes,
            "target_pages_per_scope": math.ceil(per_scope / 1000),
            "metrics": metrics,
            "put_metric_data_requests": requests,
            "target_put_metric_data": math.ceil(metrics / 1000) if metrics else None,
            "sns_publish": counts.get("sns:Publish", 0),
            "downstream_chunks": chunks,
        },
        "errors": [msg for _, level, msg in log if level == "ERROR"][:20],
        "stderr_tail": stderr.splitlines()[-40:] if proc.returncode not in (0, 2) else [],
    }


def print_result(r):
    c = r["checks"]
    s = r["seeding"]
    print(f"\n== emulator run: {r['size']} subnets ({r['binary']}, tags: {r['tags']}) ==")
    print(
        f"seeding: {s['subnets']} subnets in {s['vpcs']} VPCs, {s['ipam_pools']} IPAM pools, "
        f"{s['ipam_resource_cidrs']} resource CIDRs: {s['seconds']} s "
        f"(EC2 objects {s['ec2_seconds']} s)"
    )
    print(
        f"monitor: exit {r['exit_status']}, {r['resources']} resources, wall {r['wall_s']} s "
        f"(run_duration_ms {r['run_duration_ms']}), peak RSS {r['peak_rss_mb']} MB"
    )
    print(
        f"split:   program CPU {r['program_cpu_s']} s ({r['program_cpu_share_of_wall']:.0%} of wall), "
        f"emulator CPU {r['emulator_cpu_s']} s ({r['emulator_cpu_share_of_wall']:.0%} of wall)"
    )
    for p in r["phases"]:
        print(f"  {p['from']:>16} -> {p['to']:<18} {p['seconds']:8.3f} s")
    print("requests by operation:")
    for op, n in r["requests"].items():
        print(f"  {op:<34} {n}")
    print(
        f"DescribeSubnets requests per scope: {c['describe_subnets_pages_per_scope']:g} "
        f"(pages, plus retries if any; target ceil(subnets/1000) = {c['target_pages_per_scope']} "
        f"pages; moto ignores MaxResults and answers in one page)"
    )
    print(
        f"PutMetricData: {c['put_metric_data_requests']} requests for {c['metrics']} metrics "
        f"(target ceil(metrics/1000) = {c['target_put_metric_data']})"
    )
    print(f"SNS Publish: {c['sns_publish']} (target 1); downstream chunks: {c['downstream_chunks']}")
    for e in r["errors"]:
        print(f"  ERROR {e[:300]}")
    if r["stderr_tail"]:
        print("monitor stderr (tail):")
        print("\n".join(r["stderr_tail"]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--binary", default=default_binary())
    parser.add_argument("--tags", choices=("moto", "indexed"), default="moto")
    parser.add_argument("--out", default=os.path.join(HERE, "target", "results"))
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    binary = os.path.abspath(args.binary)

    if args.one is not None:
        # Child: one size, the result as JSON on stdout.
        print(json.dumps(run_one(args.one, binary, args.tags, args.log)))
        return 0

    os.makedirs(args.out, exist_ok=True)
    failed = False
    suffix = "" if args.tags == "moto" else f"-{args.tags}"
    for size in (int(s) for s in args.sizes.split(",")):
        log = os.path.join(args.out, f"emulator-{size}{suffix}.log")
        child = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--one", str(size),
             "--binary", binary, "--tags", args.tags, "--log", log],
            stdout=subprocess.PIPE,
            check=False,
        )
        if child.returncode != 0:
            print(f"emulator_bench.py: the {size}-subnet run failed", file=sys.stderr)
            failed = True
            continue
        result = json.loads(child.stdout.decode().strip().splitlines()[-1])
        result["log"] = os.path.relpath(log, ROOT)
        with open(os.path.join(args.out, f"emulator-{size}{suffix}.json"), "w") as f:
            json.dump(result, f, indent=2)
        print_result(result)
        failed |= result["exit_status"] not in (0, 2)
    return 1 if failed else 0


if __name__ == "__main__":
    aws_emulator.exit_fast(main())
