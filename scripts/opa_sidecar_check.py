#!/usr/bin/env python3
"""Runs the real opa exactly as the Helm chart's sidecar would and checks that its API is read-only.

For each policy source (configmap, bundle) the chart is rendered with `helm template`; the OPA
container's arguments are taken verbatim from the rendered Deployment, its ConfigMap volumes are
laid out the way the kubelet does (..<timestamp>/ directory, ..data symlink, one symlink per key)
under a temporary root, and only the absolute mount paths and the listen ports are rewritten
(API on a free 127.0.0.1 port, diagnostic address on another). In bundle mode a plain HTTP server
on 127.0.0.1 serves the bundle built by policies/bundle.sh --tar.

Asserted against the running opa: the probes' paths answer 200; the PDP's decision query answers
with a result and exactly one non-empty bundle revision (the policy bundle's); PUT /v1/policies,
/v1/data reads and writes, other data paths, /v1/query, /v1/compile, /v1/config are refused (401).

Usage: opa_sidecar_check.py --helm HELM --opa OPA --chart DIR --values FILE --policies-dir DIR
                            [--kube-version V] [--count-file FILE]
"""
import argparse
import base64
import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import yaml

DECISION = "/v1/data/agentpdp/decision/result?provenance=true"


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, msg):
        if cond:
            self.passed += 1
            print(f"  ok   {msg}")
        else:
            self.failed += 1
            print(f"  FAIL {msg}", file=sys.stderr)
        return bool(cond)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, body=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()


def render(args, extra):
    cmd = [args.helm, "template", "agent-pdp", args.chart, "--namespace", "agent-pdp",
           "--kube-version", args.kube_version, "-f", args.values] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def kubelet_configmap_volume(target, cm):
    """Writes a ConfigMap volume like the kubelet's atomic writer does."""
    stamp = "..2026_01_01_00_00_00.000000001"
    os.makedirs(os.path.join(target, stamp))
    entries = {k: v.encode() for k, v in (cm.get("data") or {}).items()}
    entries.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
    for key, content in entries.items():
        with open(os.path.join(target, stamp, key), "wb") as fh:
            fh.write(content)
    os.symlink(stamp, os.path.join(target, "..data"))
    for key in entries:
        os.symlink(os.path.join("..data", key), os.path.join(target, key))


def sidecar(docs):
    dep = next(d for d in docs if d["kind"] == "Deployment")
    spec = dep["spec"]["template"]["spec"]
    containers = list(spec.get("initContainers") or []) + list(spec.get("containers") or [])
    opa = next(c for c in containers if c["name"] == "opa")
    cms = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    return opa, cms, volumes


def run_mode(c, args, mode, work, extra, expected_revision):
    print(f"opa-sidecar-check: {mode} mode")
    docs = render(args, extra)
    opa, cms, volumes = sidecar(docs)
    root = os.path.join(work, mode)
    mounts = {}
    for m in opa.get("volumeMounts") or []:
        vol = volumes[m["name"]]
        if "configMap" in vol:
            local = os.path.join(root, m["mountPath"].lstrip("/"))
            kubelet_configmap_volume(local, cms[vol["configMap"]["name"]])
            mounts[m["mountPath"]] = local
    api, diag = free_port(), free_port()
    argv = []
    for a in opa["args"]:
        if a.startswith("--addr="):
            c.check(a.startswith("--addr=127.0.0.1:"), f"{mode}: the chart binds the OPA API to loopback ({a})")
            a = f"--addr=127.0.0.1:{api}"
        elif a.startswith("--diagnostic-addr="):
            a = f"--diagnostic-addr=127.0.0.1:{diag}"
        else:
            for path, local in mounts.items():
                a = a.replace(f"={path}/", f"={local}/")
                if a.startswith(path + "/"):
                    a = local + a[len(path):]
        argv.append(a)
    log_path = os.path.join(root, "opa.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([args.opa] + argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        probe = opa["readinessProbe"]["httpGet"]["path"]
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            if request("GET", f"http://127.0.0.1:{diag}{probe}")[0] == 200:
                break
            time.sleep(0.3)
        ready = c.check(proc.poll() is None and request("GET", f"http://127.0.0.1:{diag}{probe}")[0] == 200,
                        f"{mode}: opa started with the chart's args is ready ({probe} on the diagnostic port)")
        if not ready:
            with open(log_path) as fh:
                print(fh.read()[-3000:], file=sys.stderr)
            return
        for kind in ("livenessProbe", "startupProbe"):
            path = opa[kind]["httpGet"]["path"]
            c.check(request("GET", f"http://127.0.0.1:{diag}{path}")[0] == 200, f"{mode}: {kind} {path} answers 200")
        c.check(request("GET", f"http://127.0.0.1:{api}/health")[0] == 200,
                f"{mode}: GET /health on the API answers 200 (the PDP's health indicator)")

        status, body = request("POST", f"http://127.0.0.1:{api}{DECISION}", {"input": {}})
        if c.check(status == 200, f"{mode}: the decision query answers 200 (got {status})"):
            doc = json.loads(body)
            c.check((doc.get("result") or {}).get("outcome") == "DENY",
                    f"{mode}: the decision for an empty input is DENY")
            revisions = [b.get("revision") for b in ((doc.get("provenance") or {}).get("bundles") or {}).values()]
            named = [r for r in revisions if r]
            c.check(named == [expected_revision],
                    f"{mode}: provenance has exactly the policy bundle's revision {expected_revision} (got {revisions})")

        refused = [
            # Outside the bundles' roots (without authz OPA would accept it) and inside them.
            ("PUT", "/v1/policies/evil", b"package evil\n\nallow := true\n"),
            ("PUT", "/v1/policies/evil2", b"package agentpdp.decision\n\nresult := {\"outcome\": \"ALLOW\"}\n"),
            ("DELETE", "/v1/policies/evil", None),
            ("GET", "/v1/policies", None),
            ("GET", "/v1/data", None),
            ("GET", "/v1/data/agentpdp", None),
            ("POST", "/v1/data/agentpdp/decision", {"input": {}}),
            ("GET", "/v1/data/agentpdp/decision/result", None),
            ("PUT", "/v1/data/agentpdp/lib", {"x": 1}),
            ("PATCH", "/v1/data/agentpdp", [{"op": "add", "path": "/x", "value": 1}]),
            ("POST", "/v1/query", {"query": "data"}),
            ("POST", "/v1/compile", {"query": "data.agentpdp.decision.result"}),
            ("GET", "/v1/config", None),
            ("GET", "/v1/status", None),
            ("POST", DECISION.split("?")[0] + "?explain=full", {"input": {}}),
        ]
        for method, path, body in refused:
            status, _ = request(method, f"http://127.0.0.1:{api}{path}", body)
            c.check(status in (401, 403), f"{mode}: {method} {path} is refused (got {status})")
        status, _ = request("GET", f"http://127.0.0.1:{diag}/v1/data")
        c.check(status != 200, f"{mode}: the diagnostic port serves no data (GET /v1/data -> {status})")
        # The refused upload changed nothing: the decision is still the bundle's.
        status, body = request("POST", f"http://127.0.0.1:{api}{DECISION}", {"input": {}})
        c.check(status == 200 and json.loads(body)["result"]["outcome"] == "DENY",
                f"{mode}: after the refused PUT the decision is still the bundle's (DENY)")
    finally:
        proc.kill()
        proc.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--helm", required=True)
    p.add_argument("--opa", required=True)
    p.add_argument("--chart", required=True)
    p.add_argument("--values", required=True)
    p.add_argument("--policies-dir", required=True)
    p.add_argument("--kube-version", default="1.33.0")
    p.add_argument("--count-file")
    args = p.parse_args()

    c = Checker()
    work = tempfile.mkdtemp(prefix="opa-sidecar-check.")
    server = None
    try:
        bundle_sh = os.path.join(args.policies_dir, "bundle.sh")
        served = os.path.join(work, "served")
        tarball = os.path.join(served, "bundles", "agentpdp.tar.gz")
        built = subprocess.run(["bash", bundle_sh, "--tar", tarball, os.path.join(work, "bundle")],
                               check=True, capture_output=True, text=True).stdout
        with open(os.path.join(work, "bundle", ".manifest")) as fh:
            revision = json.load(fh)["revision"]
        print(f"opa-sidecar-check: {built.strip()}")

        run_mode(c, args, "configmap", work, ["--set", "opa.policySource=configmap"], revision)

        handler = functools.partial(QuietHandler, directory=served)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        run_mode(c, args, "bundle", work,
                 ["--set", "opa.policySource=bundle", "--set", f"opa.bundle.url={url}",
                  "--set", "opa.bundle.resource=bundles/agentpdp.tar.gz"], revision)
    finally:
        if server:
            server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    if args.count_file:
        with open(args.count_file, "w") as fh:
            fh.write(str(c.passed))
    print(f"opa-sidecar-check: {c.passed} passed, {c.failed} failed")
    sys.exit(1 if c.failed else 0)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_):
        pass


if __name__ == "__main__":
    main()
