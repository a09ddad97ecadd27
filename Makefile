# ipam-monitor: build, test and run against the local AWS emulator (moto).
# Every target installs what it needs; nothing here needs an AWS account.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The demo estate lives in these two regions (emulator/seed.py).
DEMO_REGIONS ?= us-east-1,eu-west-1
# The venv's tools (moto_server, cargo-lambda, sam, cfn-lint) come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help venv build test test-rust test-emulator lint fmt run emulator release clean-venv

help:
	@echo "make run      run one monitoring pass against the local emulator and print the report"
	@echo "make test     lint, then every test (Rust and emulator)"
	@echo "make build    debug build of the library, binaries and tests"
	@echo "make lint     cargo fmt --check and clippy -D warnings"
	@echo "make emulator start the seeded emulator in the foreground (prints its URL)"
	@echo "make release  optimized Lambda binary (target/release/bootstrap)"

venv: $(STAMP)

$(STAMP): emulator/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r emulator/requirements.txt
	touch $(STAMP)

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
test: venv lint test-emulator test-rust

test-rust: venv
	cargo test --all-targets

test-emulator: venv
	@if [ -d emulator/tests ]; then $(VPY) -m unittest discover -s emulator/tests -t emulator; fi

# The demo seed creates the alert topic (with an SQS inbox) and the consumer function.
DEMO_TOPIC ?= arn:aws:sns:us-east-1:123456789012:ipam-alerts
DEMO_CONSUMER ?= ipam-report-consumer

run: venv build
	REGIONS=$${REGIONS:-$(DEMO_REGIONS)} \
	SNS_TOPIC_ARN=$${SNS_TOPIC_ARN-$(DEMO_TOPIC)} \
	DOWNSTREAM_FUNCTIONS=$${DOWNSTREAM_FUNCTIONS-$(DEMO_CONSUMER)} \
	$(VPY) emulator/with_emulator.py --seed demo -- target/debug/ipam-monitor-local

emulator: venv
	$(VPY) emulator/launch.py --seed demo

release:
	cargo build --release --bin bootstrap

clean-venv:
	rm -rf $(VENV)
