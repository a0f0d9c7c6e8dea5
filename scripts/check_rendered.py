#!/usr/bin/env python3
"""Structural checks on manifests rendered by `helm template` for helm/agent-pdp.

Usage:
  check_rendered.py --label NAME --values chart/values.yaml [--values override.yaml ...]
                    [--policies-dir DIR] [--count-file FILE] rendered.yaml

The effective values (chart defaults deep-merged with the overrides, like Helm
does) decide what must be present (PDB/HPA/NetworkPolicy/ServiceMonitor/Job,
Secrets, policy source). Prints every failure, a summary line, and exits 1 on
any failure. The number of passed checks is written to --count-file.
"""
import argparse
import base64
import hashlib
import io
import json
import os
import re
import sys
import tarfile

try:
    import yaml
except ImportError:  # pragma: no cover - helm-check.sh installs PyYAML first
    sys.exit("check_rendered.py: PyYAML is required: run make deps and use .tools/venv/bin/python3")


# --------------------------------------------------------------------------- helpers

class Checker:
    def __init__(self, label):
        self.label = label
        self.passed = 0
        self.failures = []

    def check(self, cond, msg):
        if cond:
            self.passed += 1
        else:
            self.failures.append(msg)
        return bool(cond)


def deep_merge(base, override):
    out = dict(base)
    for k, v in (override or {}).items():
        if v is None:
            out.pop(k, None)  # Helm semantics: null deletes a default
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def get(d, path, default=None):
    cur = d
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return default
        cur = cur[p]
    return cur


def annotations(doc):
    return (doc.get("metadata") or {}).get("annotations") or {}


def is_hook(doc):
    return "helm.sh/hook" in annotations(doc)


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


SECRET_NAME_RE = re.compile(r"(PASSWORD|PASSWD|SECRET|SECRET_ID|TOKEN|PRIVATE_KEY|CREDENTIALS?|API_KEY)$")
# Vault service/batch/recovery tokens (new "hvs." style and legacy "s." style), JWT-like blobs, PEM private keys.
TOKEN_VALUE_RE = re.compile(
    r"^(hv[sbr]\.[A-Za-z0-9_-]{20,}|[sbr]\.[A-Za-z0-9]{24,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\..*)$")
PRIVATE_KEY_RE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def literal_secret_problem(name, value):
    """Return a reason if an env var / ConfigMap entry carries a literal secret."""
    value = "" if value is None else str(value)
    if name in ("PDP_VAULT_TOKEN", "VAULT_TOKEN"):
        return "Vault token variable must never be set by the chart"
    if SECRET_NAME_RE.search(name) and value != "":
        return "secret-looking variable with a literal value"
    if TOKEN_VALUE_RE.match(value.strip()):
        return "value looks like a Vault/JWT token"
    if value.strip().lower() == "root":
        return "value looks like a root token"
    if PRIVATE_KEY_RE.search(value):
        return "value contains a private key"
    return None


def pod_spec(doc):
    return get(doc, "spec.template.spec") or {}


def all_containers(spec):
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def container_port(container, port):
    """Resolve a probe/service port (number or name) against a container's ports."""
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return p.get("containerPort")
    return None


def bundle_files(c, cm, key):
    """The files in a bundle tarball shipped as ConfigMap binaryData[key], as {path: text}."""
    raw = (cm.get("binaryData") or {}).get(key)
    if not c.check(raw, f"ConfigMap {cm['metadata']['name']} has no binaryData {key}"):
        return None
    try:
        with tarfile.open(fileobj=io.BytesIO(base64.b64decode(raw)), mode="r:gz") as tar:
            return {m.name.removeprefix("./"): tar.extractfile(m).read().decode()
                    for m in tar.getmembers() if m.isfile()}
    except (tarfile.TarError, ValueError, OSError) as e:
        c.check(False, f"ConfigMap {cm['metadata']['name']} {key} is not a tar.gz bundle: {e}")
        return None


def source_policies(policies_dir):
    """What policies/bundle.sh ships: agentpdp/**.rego without *_test.rego, plus data files."""
    expected = {}
    base = os.path.join(policies_dir, "agentpdp")
    for root, _, files in os.walk(base):
        for f in files:
            if (f.endswith(".rego") and not f.endswith("_test.rego")) or f in ("data.json", "data.yaml", "data.yml"):
                path = os.path.join(root, f)
                with open(path) as fh:
                    expected[os.path.relpath(path, policies_dir)] = fh.read()
    return expected


# --------------------------------------------------------------------------- checks

def run(args):
    values = {}
    for path in args.values:
        with open(path) as fh:
            values = deep_merge(values, yaml.safe_load(fh) or {})
    with open(args.rendered) as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d]

    c = Checker(args.label)
    c.check(docs, "no documents rendered")
    for d in docs:
        c.check(d.get("kind") and get(d, "metadata.name"), f"document without kind/name: {str(d)[:80]}")

    def by_kind(kind, hooks=None):
        out = [d for d in docs if d.get("kind") == kind]
        if hooks is True:
            out = [d for d in out if is_hook(d)]
        elif hooks is False:
            out = [d for d in out if not is_hook(d)]
        return out

    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    regular_names = {(d["kind"], d["metadata"]["name"]) for d in docs if not is_hook(d)}

    auth = values["vault"]["authMethod"]
    migration_enabled = bool(get(values, "migration.enabled"))
    policy_source = get(values, "opa.policySource")
    http_port = get(values, "ports.http")
    mgmt_port = get(values, "ports.management")
    opa_port = get(values, "opa.port")
    diag_port = get(values, "opa.diagnosticPort")

    c.check(auth in ("kubernetes", "approle"), f"vault.authMethod {auth!r} is not kubernetes|approle")
    c.check(http_port == 8080, f"API port is {http_port}, expected 8080")
    c.check(mgmt_port == 8081, f"management port is {mgmt_port}, expected 8081")

    # ---------------------------------------------------------------- Deployment
    deployments = by_kind("Deployment")
    if not c.check(len(deployments) == 1, f"expected exactly 1 Deployment, got {len(deployments)}"):
        return c
    dep = deployments[0]
    spec = pod_spec(dep)
    tmpl_labels = get(dep, "spec.template.metadata.labels") or {}
    selector = get(dep, "spec.selector.matchLabels") or {}
    c.check(labels_match(selector, tmpl_labels), "Deployment selector does not match its pod labels")

    # ---------------------------------------------------------------- app ConfigMap
    cms = {d["metadata"]["name"]: d for d in by_kind("ConfigMap")}
    env_from = []
    containers = {ct["name"]: ct for ct in all_containers(spec)}
    pdp = containers.get("pdp")
    opa = containers.get("opa")
    c.check(pdp is not None, "Deployment has no 'pdp' container")
    c.check(opa is not None, "Deployment has no 'opa' sidecar container")
    if pdp is None or opa is None:
        return c
    for ef in pdp.get("envFrom") or []:
        ref = get(ef, "configMapRef.name")
        if ref:
            env_from.append(ref)
            c.check(ref in cms, f"pdp envFrom references missing ConfigMap {ref}")
    app_cm = cms.get(env_from[0]) if env_from else None
    c.check(app_cm is not None, "pdp container does not load the app ConfigMap via envFrom")
    app_env = dict((app_cm or {}).get("data") or {})

    for k, v in app_env.items():
        problem = literal_secret_problem(k, v)
        c.check(problem is None, f"ConfigMap {app_cm['metadata']['name']}: {k}: {problem}")
    c.check(app_env.get("PDP_VAULT_AUTH_METHOD") in ("kubernetes", "approle"),
            f"PDP_VAULT_AUTH_METHOD={app_env.get('PDP_VAULT_AUTH_METHOD')!r} (token auth is not allowed)")
    c.check(app_env.get("PDP_VAULT_URL"), "PDP_VAULT_URL missing")
    c.check(app_env.get("SPRING_DATASOURCE_URL", "").startswith("jdbc:"), "SPRING_DATASOURCE_URL missing/not JDBC")
    c.check(app_env.get("SPRING_DATASOURCE_USERNAME") == get(values, "database.app.username"),
            "SPRING_DATASOURCE_USERNAME is not the runtime (app) user")
    c.check(app_env.get("SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_ISSUER_URI")
            or app_env.get("SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_JWK_SET_URI"),
            "neither JWT issuer-uri nor jwk-set-uri configured")
    c.check(app_env.get("PDP_SECURITY_ISSUER") or app_env.get("SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_ISSUER_URI"),
            "no JWT issuer (PDP_SECURITY_ISSUER or issuer-uri): the PDP would refuse to start")
    c.check(app_env.get("SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_AUDIENCES"),
            "SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_AUDIENCES missing: tokens for any audience would be accepted")
    c.check(app_env.get("PDP_SECURITY_TENANT_CLAIM"), "PDP_SECURITY_TENANT_CLAIM missing")
    expected_flyway = "false" if migration_enabled else "true"
    c.check(app_env.get("SPRING_FLYWAY_ENABLED") == expected_flyway,
            f"SPRING_FLYWAY_ENABLED should be {expected_flyway} (migration.enabled={migration_enabled})")
    if not get(values, "config.opa.url"):
        c.check(app_env.get("PDP_OPA_URL") == f"http://127.0.0.1:{opa_port}",
                f"PDP_OPA_URL should point at the sidecar on 127.0.0.1:{opa_port}, got {app_env.get('PDP_OPA_URL')}")
    if auth == "kubernetes":
        c.check(app_env.get("PDP_VAULT_KUBERNETES_ROLE"), "PDP_VAULT_KUBERNETES_ROLE missing")
    else:
        c.check(app_env.get("PDP_VAULT_APPROLE_ROLE_ID"), "PDP_VAULT_APPROLE_ROLE_ID missing")

    # ---------------------------------------------------------------- pod-level security
    for doc in deployments + by_kind("Job"):
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        ps = pod_spec(doc)
        psc = ps.get("securityContext") or {}
        c.check(psc.get("runAsNonRoot") is True, f"{name}: pod securityContext.runAsNonRoot must be true")
        c.check((psc.get("runAsUser") or 0) > 0, f"{name}: pod runAsUser must be non-zero")
        c.check(get(psc, "seccompProfile.type") == "RuntimeDefault", f"{name}: pod seccompProfile must be RuntimeDefault")
        c.check(ps.get("automountServiceAccountToken") is False, f"{name}: automountServiceAccountToken must be false")
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            c.check(not ps.get(host), f"{name}: {host} must not be set")
        volumes = {v["name"]: v for v in ps.get("volumes") or []}
        for ct in all_containers(ps):
            cn = f"{name}/{ct['name']}"
            res = ct.get("resources") or {}
            c.check(get(res, "requests.cpu") and get(res, "requests.memory"), f"{cn}: cpu/memory requests missing")
            c.check(get(res, "limits.memory"), f"{cn}: memory limit missing")
            sc = ct.get("securityContext") or {}
            c.check(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, f"{cn}: runAsNonRoot not true")
            c.check(sc.get("readOnlyRootFilesystem") is True, f"{cn}: readOnlyRootFilesystem not true")
            c.check(sc.get("allowPrivilegeEscalation") is False, f"{cn}: allowPrivilegeEscalation not false")
            c.check(not sc.get("privileged"), f"{cn}: privileged container")
            c.check("ALL" in (get(sc, "capabilities.drop") or []), f"{cn}: capabilities.drop must contain ALL")
            c.check(not get(sc, "capabilities.add"), f"{cn}: capabilities.add must be empty")
            c.check((sc.get("runAsUser") is None) or sc.get("runAsUser") != 0, f"{cn}: runAsUser 0")
            image = ct.get("image", "")
            c.check(("@sha256:" in image) or (":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")),
                    f"{cn}: image {image!r} must be pinned by tag (not latest) or digest")
            for e in ct.get("env") or []:
                if "value" in e:
                    problem = literal_secret_problem(e["name"], e.get("value"))
                    c.check(problem is None, f"{cn}: env {e['name']}: {problem}")
                c.check(e["name"] not in ("PDP_VAULT_TOKEN", "VAULT_TOKEN"), f"{cn}: env {e['name']} must not be set")
            for vm in ct.get("volumeMounts") or []:
                c.check(vm["name"] in volumes, f"{cn}: volumeMount {vm['name']} has no volume")
        # every volume with a secret/configMap must point at something that exists or is an existing* value
        for v in volumes.values():
            if "configMap" in v:
                ref = v["configMap"]["name"]
                c.check(("ConfigMap", ref) in names, f"{name}: volume {v['name']} references missing ConfigMap {ref}")

    # ---------------------------------------------------------------- PDP container
    pdp_ports = {p.get("name"): p.get("containerPort") for p in pdp.get("ports") or []}
    c.check(pdp_ports.get("http") == 8080, "pdp container port 'http' must be 8080")
    c.check(pdp_ports.get("management") == 8081, "pdp container port 'management' must be 8081")
    for probe, path in (("livenessProbe", "/actuator/health/liveness"),
                        ("readinessProbe", "/actuator/health/readiness"),
                        ("startupProbe", None)):
        p = pdp.get(probe)
        if not c.check(p and p.get("httpGet"), f"pdp {probe} missing or not httpGet"):
            continue
        if path:
            c.check(p["httpGet"].get("path") == path, f"pdp {probe} path {p['httpGet'].get('path')} != {path}")
        c.check(container_port(pdp, p["httpGet"].get("port")) == 8081, f"pdp {probe} must target management port 8081")
    tmp_mounts = [m for m in pdp.get("volumeMounts") or [] if m.get("mountPath") == "/tmp"]
    vols = {v["name"]: v for v in spec.get("volumes") or []}
    c.check(tmp_mounts and "emptyDir" in vols.get(tmp_mounts[0]["name"], {}), "pdp /tmp must be an emptyDir")
    pdp_env = {e["name"]: e for e in pdp.get("env") or []}

    def secret_ref_ok(env_name, existing_secret):
        e = pdp_env.get(env_name)
        if not c.check(e and get(e, "valueFrom.secretKeyRef.name"), f"pdp {env_name} must come from a secretKeyRef"):
            return
        ref = get(e, "valueFrom.secretKeyRef.name")
        if existing_secret:
            c.check(ref == existing_secret, f"pdp {env_name} should use existingSecret {existing_secret}, got {ref}")
        else:
            c.check(("Secret", ref) in regular_names, f"pdp {env_name} references Secret {ref} not rendered by the chart")

    secret_ref_ok("SPRING_DATASOURCE_PASSWORD", get(values, "database.app.existingSecret"))
    if auth == "approle":
        secret_ref_ok("PDP_VAULT_APPROLE_SECRET_ID", get(values, "vault.approle.existingSecret"))
    else:
        c.check("PDP_VAULT_APPROLE_SECRET_ID" not in pdp_env, "AppRole secret-id set although authMethod=kubernetes")

    sa_mounts = [m for m in pdp.get("volumeMounts") or []
                 if m.get("mountPath") == "/var/run/secrets/kubernetes.io/serviceaccount"]
    if auth == "kubernetes":
        ok = c.check(sa_mounts, "kubernetes auth: pdp must mount a ServiceAccount token")
        if ok:
            v = vols.get(sa_mounts[0]["name"], {})
            c.check(any("serviceAccountToken" in s for s in get(v, "projected.sources") or []),
                    "kubernetes auth: SA token volume must be a projected serviceAccountToken")
    opa_sa = [m for m in opa.get("volumeMounts") or [] if "serviceaccount" in m.get("mountPath", "")]
    c.check(not opa_sa, "OPA sidecar must not get a ServiceAccount token")

    # ---------------------------------------------------------------- checksums / scheduling
    pod_ann = get(dep, "spec.template.metadata.annotations") or {}
    for key in ("checksum/config", "checksum/opa", "checksum/secret"):
        c.check(re.fullmatch(r"[0-9a-f]{64}", str(pod_ann.get(key, ""))), f"pod annotation {key} missing")
    c.check(spec.get("topologySpreadConstraints") or get(spec, "affinity.podAntiAffinity"),
            "no topologySpreadConstraints/podAntiAffinity")
    for tsc in spec.get("topologySpreadConstraints") or []:
        c.check(labels_match(get(tsc, "labelSelector.matchLabels"), tmpl_labels),
                f"topologySpreadConstraint {tsc.get('topologyKey')} does not select the PDP pods")
    sa_name = spec.get("serviceAccountName")
    if get(values, "serviceAccount.create"):
        c.check(("ServiceAccount", sa_name) in names, f"ServiceAccount {sa_name} not rendered")

    # ---------------------------------------------------------------- OPA sidecar
    if get(values, "opa.nativeSidecar"):
        c.check(opa in (spec.get("initContainers") or []) and opa.get("restartPolicy") == "Always",
                "native sidecar: OPA must be an initContainer with restartPolicy Always")
    else:
        c.check(opa in (spec.get("containers") or []), "OPA must be a regular sidecar container")
    expected_image = f"{get(values, 'opa.image.repository')}:{get(values, 'opa.image.tag')}"
    if not get(values, "opa.image.digest"):
        c.check(opa.get("image") == expected_image, f"OPA image {opa.get('image')} != {expected_image}")
    c.check("openpolicyagent/opa" in opa.get("image", ""), "OPA image is not openpolicyagent/opa")
    args_ = [str(a) for a in opa.get("args") or []]
    c.check(args_[:2] == ["run", "--server"], "OPA args must start with: run --server")
    addr_args = [a for a in args_ if re.match(r"^(--addr|-a)(=|$)", a)]
    c.check(addr_args == [f"--addr=127.0.0.1:{opa_port}"],
            f"OPA API must bind exactly 127.0.0.1:{opa_port}, got {addr_args}")
    c.check(f"--diagnostic-addr=0.0.0.0:{diag_port}" in args_, "OPA --diagnostic-addr missing")
    c.check(not opa.get("command"), "OPA container must not override the image entrypoint")
    declared = [p.get("containerPort") for p in opa.get("ports") or []]
    c.check(opa_port not in declared, "OPA API port must not be declared as a container port")
    rp = get(opa, "readinessProbe.httpGet") or {}
    c.check(rp.get("path") == "/health?bundles" and container_port(opa, rp.get("port")) == diag_port,
            "OPA readinessProbe must be /health?bundles on the diagnostic port")
    lp = get(opa, "livenessProbe.httpGet") or {}
    c.check(lp.get("path") == "/health" and container_port(opa, lp.get("port")) == diag_port,
            "OPA livenessProbe must be /health on the diagnostic port")
    opa_cfg_cm = next((d for n, d in cms.items() if n.endswith("-opa-config")), None)
    c.check(opa_cfg_cm is not None, "OPA config ConfigMap missing")
    opa_cfg = yaml.safe_load(get(opa_cfg_cm or {}, "data", {}).get("config.yaml", "{}")) or {}
    for svc in (opa_cfg.get("services") or {}).values():
        c.check(not get(svc, "credentials.bearer.token"), "OPA config must not inline a bearer token")

    # Authorization: the OPA API answers only what data.system.authz allows (every mode).
    c.check("--authorization=basic" in args_, "OPA must run with --authorization=basic (system.authz)")
    c.check(not [a for a in args_ if a.startswith("--authorization=") and a != "--authorization=basic"],
            "OPA args must not set another --authorization")
    c.check("--bundle" in args_ or "-b" in args_, "OPA must load its local paths as bundles (--bundle)")
    c.check("/authz/authz.tar.gz" in args_, "OPA must load the authz bundle /authz/authz.tar.gz")
    c.check(not [a for a in args_ if a.startswith("--ignore")], "bundle tarballs need no --ignore")
    mounts = {m["mountPath"]: m for m in opa.get("volumeMounts") or []}
    authz_cm = next((d for n, d in cms.items() if n.endswith("-opa-authz")), None)
    if c.check(authz_cm is not None, "OPA authz ConfigMap missing"):
        authz_files = bundle_files(c, authz_cm, "authz.tar.gz")
        authz_vol = vols.get(mounts.get("/authz", {}).get("name"))
        c.check(authz_vol and get(authz_vol, "configMap.name") == authz_cm["metadata"]["name"],
                "authz ConfigMap is not mounted at /authz in the OPA container")
        if authz_files is not None:
            manifest = json.loads(authz_files.get(".manifest", "{}"))
            c.check(manifest.get("roots") == ["system"], f"authz bundle roots {manifest.get('roots')} != ['system']")
            c.check(manifest.get("revision") == "",
                    "authz bundle must have an empty revision (the policy bundle's is the one the PDP records)")
            c.check(set(authz_files) == {".manifest", "system/authz.rego"},
                    f"authz bundle holds {sorted(authz_files)}")
            if args.policies_dir:
                with open(os.path.join(args.policies_dir, "system", "authz.rego")) as fh:
                    c.check(authz_files.get("system/authz.rego") == fh.read(), "shipped authz.rego differs from source")

    policies_cm = next((d for n, d in cms.items() if n.endswith("-opa-policies")), None)
    if policy_source == "configmap":
        c.check("/policies/bundle.tar.gz" in args_, "OPA must load the policy bundle /policies/bundle.tar.gz")
        if c.check(policies_cm is not None, "policy ConfigMap missing (opa.policySource=configmap)"):
            pol_vol = vols.get(mounts.get("/policies", {}).get("name"))
            c.check(pol_vol and get(pol_vol, "configMap.name") == policies_cm["metadata"]["name"],
                    "policy ConfigMap is not mounted at /policies in the OPA container")
            shipped = bundle_files(c, policies_cm, "bundle.tar.gz")
            if shipped is not None:
                c.check(not [k for k in shipped if k.endswith("_test.rego")], "policy bundle ships *_test.rego files")
                c.check([k for k in shipped if k.endswith(".rego")], "policy bundle has no .rego files")
                manifest = json.loads(shipped.get(".manifest", "{}"))
                c.check(manifest.get("roots") == ["agentpdp"], f"policy bundle roots {manifest.get('roots')}")
                c.check(re.fullmatch(r"[0-9a-f]{16}", manifest.get("revision", "")),
                        f"policy bundle revision {manifest.get('revision')!r} is not 16 hex digits")
                if args.policies_dir:
                    expected = source_policies(args.policies_dir)
                    files = {k: v for k, v in shipped.items() if k != ".manifest" and not k.endswith("/")}
                    c.check(set(files) == set(expected),
                            f"shipped policies {sorted(files)} != source policies {sorted(expected)}")
                    for rel, content in expected.items():
                        if rel in files:
                            c.check(files[rel] == content, f"policy {rel} in the bundle differs from source")
                    # Same revision as policies/bundle.sh computes (sha256 of the sorted files' contents).
                    digest = hashlib.sha256()
                    for rel in sorted(expected, key=lambda r: r.encode()):
                        digest.update(expected[rel].encode())
                    c.check(manifest.get("revision") == digest.hexdigest()[:16],
                            "policy bundle revision does not match the source files")
    else:
        c.check(not [a for a in args_ if a.startswith("/policies")], "bundle mode must not load /policies")
        c.check(policies_cm is None, "bundle mode must not render the policy ConfigMap")
        b = get(values, "opa.bundle")
        c.check(get(opa_cfg, f"services.bundle-server.url") == b["url"], "OPA bundle service url mismatch")
        c.check(get(opa_cfg, f"bundles.{b['name']}.resource") == b["resource"], "OPA bundle resource mismatch")
        if get(b, "signing.keyId"):
            c.check(get(opa_cfg, f"bundles.{b['name']}.signing.keyid") == b["signing"]["keyId"], "bundle signing keyid missing")
            c.check(get(opa_cfg, f"keys.{b['signing']['keyId']}.key"), "bundle verification key missing")
            c.check(not PRIVATE_KEY_RE.search(get(opa_cfg, f"keys.{b['signing']['keyId']}.key") or ""),
                    "bundle verification key must be a PUBLIC key")
        if get(b, "credentials.existingSecret"):
            c.check(get(opa_cfg, "services.bundle-server.credentials.bearer.token_path"), "bundle token_path missing")

    # ---------------------------------------------------------------- Services
    services = {d["metadata"]["name"]: d for d in by_kind("Service")}
    api = services.get(dep["metadata"]["name"])
    if c.check(api, "API Service missing"):
        c.check(labels_match(get(api, "spec.selector"), tmpl_labels), "API Service selector does not match PDP pods")
        ports = get(api, "spec.ports") or []
        targets = [container_port(pdp, p.get("targetPort", p.get("port"))) for p in ports]
        c.check(targets == [8080], f"API Service must target only container port 8080, targets={targets}")
    metrics_svc = services.get(dep["metadata"]["name"] + "-metrics")
    if get(values, "metrics.service.enabled"):
        if c.check(metrics_svc, "metrics Service missing"):
            targets = [container_port(pdp, p["targetPort"]) or container_port(opa, p["targetPort"])
                       for p in get(metrics_svc, "spec.ports")]
            c.check(8081 in targets, "metrics Service must expose the management port 8081")

    # ---------------------------------------------------------------- Secrets
    secrets = by_kind("Secret")
    all_existing = (get(values, "database.app.existingSecret")
                    and (not migration_enabled or get(values, "database.migration.existingSecret"))
                    and (auth != "approle" or get(values, "vault.approle.existingSecret")))
    if all_existing:
        c.check(not secrets, "all credentials use existingSecret but the chart renders Secrets")
    for s in secrets:
        data = s.get("data") or {}
        c.check(all(re.fullmatch(r"[A-Za-z0-9+/=]*", str(v)) for v in data.values()),
                f"Secret {s['metadata']['name']}: data values must be base64")
        c.check(not s.get("stringData"), f"Secret {s['metadata']['name']}: no stringData")

    # ---------------------------------------------------------------- migration Job
    jobs = by_kind("Job")
    if migration_enabled:
        if c.check(len(jobs) == 1, f"expected 1 migration Job, got {len(jobs)}"):
            job = jobs[0]
            hooks = {h.strip() for h in annotations(job).get("helm.sh/hook", "").split(",")}
            c.check({"pre-install", "pre-upgrade"} <= hooks, f"Job hooks {hooks} must include pre-install,pre-upgrade")
            js = pod_spec(job)
            c.check(js.get("restartPolicy") == "Never", "Job restartPolicy must be Never")
            c.check(get(job, "spec.activeDeadlineSeconds"), "Job needs activeDeadlineSeconds")
            jc = (js.get("containers") or [{}])[0]
            c.check(jc.get("image") == pdp.get("image"), "migration Job must run the same image as the PDP")
            jenv = {e["name"]: e for e in jc.get("env") or []}
            for k, v in (("SPRING_MAIN_WEB_APPLICATION_TYPE", "none"), ("PDP_MIGRATE_ONLY", "true"),
                         ("SPRING_FLYWAY_ENABLED", "true"),
                         ("SPRING_FLYWAY_USER", get(values, "database.migration.username")),
                         ("SPRING_DATASOURCE_USERNAME", get(values, "database.app.username"))):
                c.check(get(jenv.get(k, {}), "value") == v, f"Job env {k} must be {v!r}")
            pw = jenv.get("SPRING_FLYWAY_PASSWORD", {})
            ref = get(pw, "valueFrom.secretKeyRef.name")
            c.check(ref, "Job SPRING_FLYWAY_PASSWORD must come from a secretKeyRef")
            # Hooks run before regular resources exist: the Job may only reference hook
            # resources or pre-existing (existingSecret) Secrets.
            c.check(("Secret", ref) not in regular_names, f"Job references non-hook Secret {ref} (not yet created on install)")
            if not get(values, "database.migration.existingSecret"):
                hook_secret = next((s for s in secrets if s["metadata"]["name"] == ref), None)
                if c.check(hook_secret and is_hook(hook_secret), f"Job Secret {ref} must be a hook resource"):
                    c.check(int(annotations(hook_secret).get("helm.sh/hook-weight", "0"))
                            < int(annotations(job).get("helm.sh/hook-weight", "0")),
                            "hook Secret must have a lower hook-weight than the Job")
            c.check(not jc.get("envFrom"), "Job must not use envFrom (ConfigMap does not exist yet on install)")
            sa = js.get("serviceAccountName")
            c.check(not sa or ("ServiceAccount", sa) not in regular_names,
                    "Job must not use the chart's ServiceAccount (created after pre-install hooks)")
            c.check(not labels_match(selector, get(job, "spec.template.metadata.labels") or {}),
                    "Job pods must not match the Deployment/Service selector")
    else:
        c.check(not jobs, "migration disabled but a Job is rendered")

    # ---------------------------------------------------------------- PDB / HPA
    pdbs = by_kind("PodDisruptionBudget")
    if get(values, "podDisruptionBudget.enabled"):
        if c.check(len(pdbs) == 1, "PodDisruptionBudget missing"):
            c.check(labels_match(get(pdbs[0], "spec.selector.matchLabels"), tmpl_labels), "PDB does not select PDP pods")
            c.check(("minAvailable" in pdbs[0]["spec"]) != ("maxUnavailable" in pdbs[0]["spec"]),
                    "PDB must set exactly one of minAvailable/maxUnavailable")
    else:
        c.check(not pdbs, "PDB rendered although disabled")
    hpas = by_kind("HorizontalPodAutoscaler")
    if get(values, "autoscaling.enabled"):
        if c.check(len(hpas) == 1, "HorizontalPodAutoscaler missing"):
            h = hpas[0]
            c.check(h.get("apiVersion") == "autoscaling/v2", "HPA must be autoscaling/v2")
            c.check(get(h, "spec.scaleTargetRef.name") == dep["metadata"]["name"], "HPA does not target the Deployment")
            c.check(get(h, "spec.minReplicas") <= get(h, "spec.maxReplicas"), "HPA minReplicas > maxReplicas")
            c.check(get(h, "spec.metrics"), "HPA has no metrics")
        c.check("replicas" not in dep["spec"], "Deployment must not set replicas when the HPA is enabled")
    else:
        c.check(not hpas, "HPA rendered although disabled")
        c.check(dep["spec"].get("replicas") == get(values, "replicaCount"), "Deployment replicas != replicaCount")

    # ---------------------------------------------------------------- NetworkPolicy
    nps = {d["metadata"]["name"]: d for d in by_kind("NetworkPolicy")}
    if get(values, "networkPolicy.enabled"):
        np_ = nps.get(dep["metadata"]["name"])
        if c.check(np_, "NetworkPolicy for the PDP pods missing"):
            c.check(labels_match(get(np_, "spec.podSelector.matchLabels"), tmpl_labels), "NetworkPolicy does not select PDP pods")
            c.check({"Ingress", "Egress"} <= set(get(np_, "spec.policyTypes") or []), "NetworkPolicy must restrict Ingress and Egress")
            ingress = get(np_, "spec.ingress") or []
            c.check(all(r.get("from") for r in ingress), "an ingress rule without 'from' allows every source")
            c.check(all(r.get("ports") for r in ingress), "an ingress rule without 'ports' allows every port")
            by_port = {}
            for r in ingress:
                for p in r.get("ports") or []:
                    by_port.setdefault(p.get("port"), []).append(r)
            api_from = get(values, "networkPolicy.ingress.api.from")
            if api_from:
                c.check(any(r.get("from") == api_from for r in by_port.get(8080, [])),
                        "API port 8080 ingress must come from networkPolicy.ingress.api.from")
            mon_from = get(values, "networkPolicy.ingress.monitoring.from")
            if mon_from:
                c.check(by_port.get(8081) and all(r.get("from") == mon_from for r in by_port.get(8081, [])),
                        "management port 8081 ingress must come only from networkPolicy.ingress.monitoring.from")
            c.check(opa_port not in by_port, "OPA API port must not be reachable through the NetworkPolicy")
            egress = get(np_, "spec.egress") or []
            eports = {(p.get("port"), p.get("protocol", "TCP")) for r in egress for p in r.get("ports") or []}
            c.check(all(r.get("ports") for r in egress), "an egress rule without 'ports' allows every port")
            c.check((53, "UDP") in eports and (53, "TCP") in eports, "egress to DNS (53/UDP+TCP) missing")
            for dep_name in ("database", "vault", "jwks"):
                for p in get(values, f"networkPolicy.egress.{dep_name}.ports") or []:
                    c.check((p["port"], p.get("protocol", "TCP")) in eports, f"egress to {dep_name} port {p['port']} missing")
                to = get(values, f"networkPolicy.egress.{dep_name}.to")
                if to:
                    c.check(any(r.get("to") == to for r in egress), f"egress rule for {dep_name} does not use its 'to' peers")
            if policy_source == "bundle":
                for p in get(values, "networkPolicy.egress.opaBundle.ports") or []:
                    c.check((p["port"], p.get("protocol", "TCP")) in eports, "egress to the OPA bundle server missing")
        if migration_enabled:
            mnp = nps.get(dep["metadata"]["name"] + "-migrate")
            if c.check(mnp and is_hook(mnp), "hook NetworkPolicy for the migration Job missing"):
                job_labels = get(jobs[0], "spec.template.metadata.labels") if jobs else {}
                c.check(labels_match(get(mnp, "spec.podSelector.matchLabels"), job_labels or {}),
                        "migration NetworkPolicy does not select the Job pods")
                c.check(not get(mnp, "spec.ingress"), "migration pods must not accept ingress")
    else:
        c.check(not nps, "NetworkPolicy rendered although disabled")

    # ---------------------------------------------------------------- ServiceMonitor
    sms = by_kind("ServiceMonitor")
    if get(values, "serviceMonitor.enabled"):
        if c.check(len(sms) == 1, "ServiceMonitor missing"):
            sm = sms[0]
            eps = get(sm, "spec.endpoints") or []
            c.check(any(e.get("port") == "management" and e.get("path") == "/actuator/prometheus" for e in eps),
                    "ServiceMonitor must scrape management:/actuator/prometheus")
            if metrics_svc:
                c.check(labels_match(get(sm, "spec.selector.matchLabels"), get(metrics_svc, "metadata.labels") or {}),
                        "ServiceMonitor selector does not match the metrics Service")
                c.check(not labels_match(get(sm, "spec.selector.matchLabels"), get(api or {}, "metadata.labels") or {}),
                        "ServiceMonitor must not select the API Service")
    else:
        c.check(not sms, "ServiceMonitor rendered although disabled")

    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="render")
    ap.add_argument("--values", action="append", required=True)
    ap.add_argument("--policies-dir")
    ap.add_argument("--count-file")
    ap.add_argument("rendered")
    args = ap.parse_args()
    c = run(args)
    for f in c.failures:
        print(f"  FAIL [{c.label}] {f}")
    print(f"check_rendered[{c.label}]: {c.passed} passed, {len(c.failures)} failed")
    if args.count_file:
        with open(args.count_file, "w") as fh:
            fh.write(str(c.passed))
    sys.exit(1 if c.failures else 0)


if __name__ == "__main__":
    main()
