# ipam-monitor: build, test and run against the local AWS emulator (moto).
# Every target installs what it needs; nothing here needs an AWS account.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# The demo estate lives in these two regions (emulator/seed.py).
DEMO_REGIONS ?= us-east-1,eu-west-1
# The venv's tools (moto_server, cargo-lambda, sam, cfn-lint) come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help venv build test test-rust test-emulator lint fmt run emulator release clean-venv \
	validate invoke

help:
	@echo "make run      run one monitoring pass against the local emulator and print the report"
	@echo "make test     lint, then every test (Rust and emulator)"
	@echo "make build    debug build of the library, binaries and tests"
	@echo "make lint     cargo fmt --check and clippy -D warnings"
	@echo "make emulator start the seeded emulator in the foreground (prints its URL)"
	@echo "make release  optimized Lambda binary, without test helpers (target/release/bootstrap)"
	@echo "make validate sam validate --lint, cfn-lint (+ serverless rules) and checkov on template.yaml (offline)"
	@echo "make invoke   the Lambda under cargo lambda watch against the emulator, each events/ file"

venv: $(STAMP) $(CHECKOV_STAMP)

$(STAMP): emulator/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r emulator/requirements.txt
	touch $(STAMP)

$(CHECKOV_STAMP): tools/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r tools/checkov-requirements.txt
	touch $(CHECKOV_STAMP)

# --all-targets everywhere: the same feature set as `cargo test`, so the AWS SDK
# crates compile once.
build:
	cargo build --all-targets

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

fmt:
	cargo fmt --all

# cargo's summary comes last so CI reads the Rust test counts.
test: venv lint validate test-emulator test-rust

test-rust: venv
	cargo test --all-targets

test-emulator: venv
	@if [ -d emulator/tests ]; then $(VPY) -m unittest discover -s emulator/tests -t emulator; fi

# The demo seed creates the alert topic (with an SQS inbox) and the consumer function.
DEMO_TOPIC ?= arn:aws:sns:us-east-1:123456789012:ipam-alerts
DEMO_CONSUMER ?= ipam-report-consumer
DEMO_STATE_BUCKET ?= ipam-monitor-state

run: venv build
	REGIONS=$${REGIONS:-$(DEMO_REGIONS)} \
	SNS_TOPIC_ARN=$${SNS_TOPIC_ARN-$(DEMO_TOPIC)} \
	DOWNSTREAM_FUNCTIONS=$${DOWNSTREAM_FUNCTIONS-$(DEMO_CONSUMER)} \
	STATE_BUCKET=$${STATE_BUCKET-$(DEMO_STATE_BUCKET)} \
	ADDRESS_MAP=$${ADDRESS_MAP-eks} \
	$(VPY) emulator/with_emulator.py --seed demo -- target/debug/ipam-monitor-local

emulator: venv
	$(VPY) emulator/launch.py --seed demo

# The SAM template, offline: SAM's own lint (cfn-lint on the transformed template),
# cfn-lint on the source with the serverless rules, and checkov (no download from its
# vendor). Every finding is fixed or skipped in template.yaml with its reason.
# tests/template_permissions.rs checks the IAM policy.
validate: venv
	SAM_CLI_TELEMETRY=0 sam validate --lint --region us-east-1 --template template.yaml
	cfn-lint -- template.yaml
	cfn-lint -a cfn_lint_serverless.rules -- template.yaml
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --skip-download --compact --quiet

# The Lambda binary under `cargo lambda watch` (a local Lambda Runtime API on a free
# port) with env.json's settings, against a seeded emulator: one `cargo lambda invoke
# --data-file` per file in events/, then the watch process group is stopped.
# tests/lambda_watch.rs does the same and checks the answers.
INVOKE_EVENTS ?= $(sort $(wildcard events/*.json))

define INVOKE_SH
set -euo pipefail
port=$$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# env.json (SAM's format: settings per function logical id), then the demo targets.
eval "$$(python -c 'import json, shlex; d = json.load(open("env.json"))["IpamMonitorFunction"]; print("\n".join("export %s=%s" % (k, shlex.quote(v)) for k, v in d.items()))')"
export REGIONS=$(DEMO_REGIONS) SNS_TOPIC_ARN=$(DEMO_TOPIC) DOWNSTREAM_FUNCTIONS=$(DEMO_CONSUMER)
log=$$(mktemp -t ipam-monitor-watch.XXXXXX)
# Its own session and process group, stopped by the group id on the way out.
setsid cargo lambda watch --ignore-changes --bin bootstrap \
    --invoke-address 127.0.0.1 --invoke-port "$$port" >"$$log" 2>&1 &
watch=$$!
trap 'kill -TERM -- -$$watch 2>/dev/null || true; wait $$watch 2>/dev/null || true; rm -f "$$log"' EXIT
trap 'exit 130' INT TERM
for _ in $$(seq 300); do
    python -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$$port" 2>/dev/null && break
    kill -0 "$$watch" 2>/dev/null || { cat "$$log"; echo "cargo lambda watch exited" >&2; exit 1; }
    sleep 0.2
done
echo "cargo lambda watch on 127.0.0.1:$$port (log: $$log)"
failed=0
for event in $(INVOKE_EVENTS); do
    echo "== cargo lambda invoke --data-file $$event"
    if out=$$(cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$$port" --data-file "$$event" -o json); then
        # The run summary without the inline report (make run prints reports).
        printf '%s' "$$out" | python -c 'import json, sys; d = json.load(sys.stdin); d.pop("report", None); print(json.dumps(d, indent=2))'
    else
        failed=1
    fi
done
grep -q 'Compiling aws-' "$$log" && echo "note: cargo lambda watch recompiled the AWS SDK (features differ from make build)" >&2
exit $$failed
endef
export INVOKE_SH

invoke: venv build
	$(VPY) emulator/with_emulator.py --seed demo -- bash -c "$$INVOKE_SH"

# Release builds as `sam build` makes the Lambda: without the default `test-util`
# feature (Cargo.toml), so none of the SDK's test helpers are compiled in.
RELEASE_BUILD := cargo build --release --no-default-features
# Where it puts the binaries: cargo's CARGO_TARGET_DIR when set (a shared target dir).
RELEASE_DIR := $(or $(CARGO_TARGET_DIR),target)/release

release:
	$(RELEASE_BUILD) --bin bootstrap

clean-venv:
	rm -rf $(VENV) $(CHECKOV_VENV)

# --- benchmarks (BENCHMARKS.md) ---------------------------------------------------
# Criterion and the peak-RSS probe live in bench/, a package of their own (own
# Cargo.lock, target dir bench/target) so the main crate's dependencies stay as they
# are. Each part prints a labelled header; `make bench` runs them all. The binaries
# are built with --bins --benches, the targets `cargo bench` builds: building one bin
# alone leaves criterion's dev-dependency features out and rebuilds shared crates.
BENCH_CPU ?= 0
BENCH_SIZES ?= 1000,10000
# moto looks tags up by scanning every tag of the region per resource; "indexed"
# (bench_seed.index_tag_lookups) lets a 10k-subnet describe finish inside the SDK
# timeouts. BENCH_TAGS=moto measures the stock emulator.
BENCH_TAGS ?= indexed

.PHONY: bench bench-calculator bench-rss bench-address-map bench-emulator bench-size bench-cold-start bench-ipam-org

bench: bench-calculator bench-rss bench-address-map bench-size bench-cold-start bench-emulator bench-ipam-org

bench-calculator:
	@echo "== [bench a] criterion: calculator + sinks, 100k subnets / 10k VPCs / 1k pools, one core (taskset -c $(BENCH_CPU)) =="
	cd bench && cargo bench --no-run --bench calculator
	cd bench && taskset -c $(BENCH_CPU) cargo bench --bench calculator
	@echo "== [bench a] calculator in a plain loop (one core) =="
	cd bench && cargo build --release --bins --benches
	taskset -c $(BENCH_CPU) bench/target/release/calc_loop 20

bench-rss:
	@echo "== [bench a] peak RSS: in-process pipeline on 100k subnets (target < 128 MB) =="
	cd bench && cargo build --release --bins --benches
	taskset -c $(BENCH_CPU) bench/target/release/peak_rss

bench-address-map:
	@echo "== [bench a] address maps: 10k subnets, 200k interfaces in 10 scopes, one core (targets < 200 ms, < 128 MB) =="
	cd bench && cargo build --release --bins --benches
	taskset -c $(BENCH_CPU) bench/target/release/address_map 15
	@echo "== [bench a] address maps, the old shape: every interface held, then mapped (peak RSS for comparison) =="
	taskset -c $(BENCH_CPU) bench/target/release/address_map 1 --hold-all

bench-size:
	@echo "== [bench c] release binary size: $(RELEASE_DIR)/bootstrap =="
	$(RELEASE_BUILD) --bin bootstrap
	@stat -c '%s bytes  %n' $(RELEASE_DIR)/bootstrap
	@ls -lh $(RELEASE_DIR)/bootstrap

bench-cold-start: venv
	@echo "== [bench c] cold start: runtime ready, first answer, and under cargo lambda watch =="
	$(RELEASE_BUILD) --bin bootstrap
	$(VPY) bench/cold_start.py --binary $(RELEASE_DIR)/bootstrap

bench-ipam-org: venv
	@echo "== [bench b] IPAM only: a 10k-subnet, 50-account organization from the IPAM account =="
	$(RELEASE_BUILD) --bin ipam-monitor-local
	$(VPY) emulator/bench_ipam_org.py --binary $(RELEASE_DIR)/ipam-monitor-local

bench-emulator: venv
	@echo "== [bench b] full runs against the emulator at $(BENCH_SIZES) subnets =="
	$(RELEASE_BUILD) --bin ipam-monitor-local
	$(VPY) bench/emulator_bench.py --sizes $(BENCH_SIZES) --tags $(BENCH_TAGS) --binary $(RELEASE_DIR)/ipam-monitor-local
