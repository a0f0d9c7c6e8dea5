"""Fixtures for the integration tests: the real PDP (started by scripts/python-sdk-test.sh on the real stack),
a real FastMCP upstream and a real agent-pdp-guard process, all on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE.parent.parent / "examples" / "crm_server.py"
ROOT = HERE.parents[3]
REQUIRED_ENV = ("AGENT_PDP_TEST_URL", "AGENT_PDP_TEST_STACK", "AGENT_PDP_TEST_JWT_KEY", "AGENT_PDP_TEST_MINT_JWT",
                "PDP_VAULT_URL",
                "PDP_PG_BIN_DIR", "PDP_PG_PORT", "SPRING_FLYWAY_USER", "SPRING_FLYWAY_PASSWORD",
                "SPRING_DATASOURCE_URL", "PDP_SPIRE_AGENT_BIN", "PDP_SPIFFE_SOCKET", "PDP_SPIFFE_IDS",
                "PDP_IDENTITY_AUDIENCE")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if not missing:
        return
    skip = pytest.mark.skip(reason="needs the real stack: run scripts/python-sdk-test.sh (make test); missing "
                                   + ", ".join(missing))
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s: {log.read_text()[-2000:]}")


@dataclass(eq=False)
class Pdp:
    url: str
    vault_url: str
    tenant: str

    @property
    def spiffe_id(self) -> str:
        """The SPIFFE ID every test agent is bound to: the stack's SPIRE registers this uid under it."""
        return next(i for i in os.environ["PDP_SPIFFE_IDS"].split(",") if i.endswith("/tests/workload-a"))

    def svid(self) -> str:
        """A real JWT-SVID of `spiffe_id` for the PDP's audience, from the stack's SPIRE agent (Workload API)."""
        out = subprocess.run(
            [os.environ["PDP_SPIRE_AGENT_BIN"], "api", "fetch", "jwt", "-socketPath", os.environ["PDP_SPIFFE_SOCKET"],
             "-audience", os.environ["PDP_IDENTITY_AUDIENCE"], "-spiffeID", self.spiffe_id],
            check=True, capture_output=True, text=True).stdout
        return out.splitlines()[1].strip()

    def mint(self, subject: str, scopes: str) -> str:
        return subprocess.run(
            [os.environ["AGENT_PDP_TEST_MINT_JWT"], os.environ["AGENT_PDP_TEST_JWT_KEY"], subject, self.tenant,
             scopes, "3600"], check=True, capture_output=True, text=True).stdout.strip()

    # --- seeding: the one place that creates registry data --------------------------------------------
    # With the registry (issue 13, once merged into this branch) the tenant is seeded through its API with a
    # registry-admin token; without it, by SQL as the schema owner, like scripts/demo/seed.sql and the Java
    # tests did before the registry. Both paths pass the whole suite (the API path against main's PDP jar).
    _registry: bool | None = None

    def registry_api(self) -> bool:
        """True once the PDP's schema has the registry (issue 13's `tool` table)."""
        if self._registry is None:
            self._registry = self._psql("select to_regclass('tool') is not null") == "t"
        return self._registry

    def _register(self, path: str, body: dict[str, Any]) -> None:
        answer = httpx.post(f"{self.url}{path}", json=body, timeout=10,
                            headers={"Authorization": f"Bearer {self.mint('sdk-seeder', 'registry-admin')}"})
        if answer.status_code not in (200, 201, 409):  # 409: already registered (tools shared by agents)
            raise RuntimeError(f"POST {path} answered {answer.status_code}: {answer.text[:300]}")

    def seed_classification(self, system: str, prefix: str, classification: str) -> None:
        if self.registry_api():
            self._register("/v1/registry/classifications",
                           {"system": system, "resource_prefix": prefix.rstrip("/"), "level": classification})
            return
        self._psql(f"insert into resource_classification (owner_tenant, system, resource_prefix, classification) "
                   f"values ('{self.tenant}', '{system}', '{prefix}', '{classification}') on conflict do nothing;")

    _onboarded: bool = False

    def onboard_credentials(self) -> None:
        """Once: the tenant in OpenBao (scripts/stack/tenant-layout.sh: policies tenant.<tenant>.*, token role
        agent-pdp.<tenant>) and its credential profile sdk-default (a token with the tenant's crm-read policy)."""
        if self._onboarded:
            return
        subprocess.run([str(ROOT / "scripts" / "stack" / "tenant-layout.sh"), "onboard",
                        os.environ["AGENT_PDP_TEST_STACK"], self.tenant], check=True, capture_output=True)
        self._register("/v1/registry/credential-profiles", {
            "name": "sdk-default", "kind": "token", "policies": ["crm-read"], "max_ttl_seconds": 3600,
            "max_uses": 100})
        self._onboarded = True

    def seed_agent(self, agent_id: str, owner: str, tools: list[str], home_systems: list[str],
                   spiffe_ids: list[str] | None = None) -> None:
        """Registers an agent with its manifest, bound to `spiffe_ids` (default: [`spiffe_id`]); its tools act on
        the first home system (every action kind) and get their credentials by the profile sdk-default."""
        if self.registry_api():
            self.onboard_credentials()
            for tool in tools:
                self._register("/v1/registry/tools", {
                    "name": tool, "target_system": home_systems[0] if home_systems else "crm",
                    "action_kinds": ["read", "write", "delete", "execute", "payment", "privilege_grant",
                                     "secret_read"],
                    "risk_tier": "low", "credential_profile": "sdk-default"})
            self._register("/v1/registry/agents", {"id": agent_id, "allowed_tools": tools,
                                                   "owner": {"issuer": "agent-pdp-demo", "subject": owner},
                                                   "home_systems": home_systems,
                                                   "spiffe_ids": spiffe_ids or [self.spiffe_id]})
            self.bind_agent(agent_id)
            return

        def array(values: list[str]) -> str:
            return "array[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"
        sql = (f"insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems) values "
               f"('{self.tenant}', '{agent_id}', '{owner}', {array(tools)}, {array(home_systems)}) "
               f"on conflict do nothing;")
        self._psql(sql)

    # The subjects of the decide tokens these tests mint: a decide token decides only for the agents the
    # registry binds to its principal (its enforcement point).
    DECIDE_SUBJECTS = ("mcp-guard", "sdk-caller", "lc-runtime")

    def bind_agent(self, agent_id: str) -> None:
        """Binds agent_id to the enforcement point of every decide subject the tests use (read, add, replace)."""
        admin = {"Authorization": f"Bearer {self.mint('sdk-seeder', 'registry-admin')}"}
        for subject in self.DECIDE_SUBJECTS:
            listed = httpx.get(f"{self.url}/v1/registry/enforcement-points", params={"principal": subject},
                               headers=admin, timeout=10)
            listed.raise_for_status()
            items = listed.json()["items"]
            if not items:
                self._register("/v1/registry/enforcement-points", {"principal": subject, "agent_ids": [agent_id]})
                continue
            point = items[0]
            if agent_id in point["agent_ids"]:
                continue
            body = {"principal": subject, "agent_ids": [*point["agent_ids"], agent_id],
                    "agent_selectors": point["agent_selectors"], "enabled": point["enabled"]}
            answer = httpx.put(f"{self.url}/v1/registry/enforcement-points/{point['id']}", json=body, timeout=10,
                               headers={**admin, "If-Match": f'"{point["version"]}"'})
            if answer.status_code != 200:
                raise RuntimeError(f"PUT enforcement point answered {answer.status_code}: {answer.text[:300]}")

    def bind_enforcement_point(self, principal: str, agent_ids: list[str]) -> None:
        """Registers the enforcement point `principal` (a decide token's subject) bound to `agent_ids`."""
        self._register("/v1/registry/enforcement-points", {"principal": principal, "agent_ids": agent_ids})

    def _psql(self, sql: str) -> str:
        env = dict(os.environ, PGPASSWORD=os.environ["SPRING_FLYWAY_PASSWORD"])
        return subprocess.run(
            [str(Path(os.environ["PDP_PG_BIN_DIR"]) / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", os.environ["PDP_PG_PORT"], "-U", os.environ["SPRING_FLYWAY_USER"],
             "-d", os.environ["SPRING_DATASOURCE_URL"].rsplit("/", 1)[-1], "-c", sql],
            check=True, env=env, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="session")
def pdp() -> Pdp:
    return Pdp(url=os.environ["AGENT_PDP_TEST_URL"], vault_url=os.environ["PDP_VAULT_URL"],
               tenant=f"sdk-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path


@dataclass
class Upstream:
    url: str
    record: Path

    def calls(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]


@pytest.fixture
def upstream(work: Path) -> Iterator[Upstream]:
    port = free_port()
    record = work / "upstream-calls.jsonl"
    log = work / "upstream.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(UPSTREAM), str(port)], stdout=out, stderr=subprocess.STDOUT,
                                   env=dict(os.environ, UPSTREAM_RECORD=str(record)))
    try:
        wait_for_port(port, process, log)
        yield Upstream(url=f"http://127.0.0.1:{port}/mcp", record=record)
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class RunningGuard:
    url: str
    agent_id: str
    config: dict[str, Any]
    config_file: Path
    log: Path
    returncode: int | None = None  # set when the guard was expected to refuse to start


TOOLS = [
    {"name": "read_contact", "upstream": "crm", "upstream_tool": "read_contact", "registry_tool": "crm.contacts.read",
     "action": "read", "target": {"system": "crm", "resource": "contacts/{contact_id}"},
     "classification": "internal"},
    {"name": "update_contact", "upstream": "crm", "upstream_tool": "update_contact",
     "registry_tool": "crm.contacts.update", "action": "write",
     "target": {"system": "crm", "resource": "contacts/{contact_id}"}, "classification": "internal"},
    {"name": "delete_contact", "upstream": "crm", "upstream_tool": "delete_contact",
     "registry_tool": "crm.contacts.delete", "action": "delete",
     "target": {"system": "crm", "resource": "contacts/{contact_id}"}, "classification": "internal"},
    {"name": "export_contacts", "upstream": "crm", "upstream_tool": "export_contacts",
     "registry_tool": "crm.contacts.export", "action": "read",
     "target": {"system": "crm", "resource": "segments/{segment}"}, "classification": "internal"},
]
MANIFEST = ["crm.contacts.read", "crm.contacts.update", "crm.contacts.delete"]


@pytest.fixture
def start_guard(pdp: Pdp, upstream: Upstream, work: Path) -> Iterator[Callable[..., RunningGuard]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(pdp_url: str | None = None, credential: dict[str, str] | None = None, pdp_timeout: float = 5,
              crm_upstream: dict[str, Any] | None = None, extra_tools: list[dict[str, Any]] | None = None,
              manifest: list[str] | None = None, svid_file: Path | None = None, manifest_source: str = "config",
              tools: list[dict[str, Any]] | None = None, bind: bool = True,
              expect_refusal: bool = False, svid: dict[str, Any] | None = None,
              spiffe_ids: list[str] | None = None, with_svid: bool = True) -> RunningGuard:
        agent_id = f"agent-{uuid.uuid4().hex[:8]}"
        pdp.seed_agent(agent_id, owner="owner-1", tools=manifest or MANIFEST, home_systems=["crm"],
                       spiffe_ids=spiffe_ids)
        if svid_file is None and svid is None and with_svid:
            # The agent's real JWT-SVID (5 minutes, longer than any one test), as spiffe-helper would write it.
            svid_file = work / f"{agent_id}.jwt-svid"
            svid_file.write_text(pdp.svid() + "\n")
        # With the registry as manifest source the guard is an enforcement point of its own, bound to its agent.
        subject = f"guard-{agent_id}" if manifest_source == "registry" else "mcp-guard"
        if manifest_source == "registry" and bind:
            pdp.bind_enforcement_point(subject, [agent_id])
        token_file = work / f"{agent_id}.jwt"
        token_file.write_text(pdp.mint(subject, "decide"))
        config = {
            "pdp": {"url": pdp_url or pdp.url, "token_file": str(token_file),
                    "timeout_seconds": pdp_timeout},
            "vault": {"addr": pdp.vault_url},
            "agent": {"tenant": pdp.tenant, "id": agent_id, "task_id": f"task-{uuid.uuid4().hex[:8]}",
                      "intent": "help a customer", **({"svid": {"file": str(svid_file)}} if svid_file else {}),
                      **({"svid": svid} if svid else {})},
            "manifest": ({"source": "config", "allowed_tools": manifest or MANIFEST} if manifest_source == "config"
                         else {"source": "registry", "refresh_seconds": 1}),
            "upstreams": {"crm": crm_upstream or {
                "transport": "streamable_http", "url": upstream.url,
                "credential": credential or {"header": "Authorization", "scheme": "Bearer"}}},
            "tools": (TOOLS if tools is None else tools) + (extra_tools or []),
        }
        config_file = work / f"{agent_id}.yaml"
        config_file.write_text(yaml.safe_dump(config))
        port = free_port()
        log = work / f"{agent_id}-guard.log"
        guard_bin = Path(sys.executable).parent / "agent-pdp-guard"
        with log.open("wb") as out:
            process = subprocess.Popen([str(guard_bin), "--config", str(config_file), "--transport", "http",
                                        "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
        processes.append(process)
        if expect_refusal:
            return RunningGuard(url="", agent_id=agent_id, config=config, config_file=config_file, log=log,
                                returncode=process.wait(60))
        wait_for_port(port, process, log)
        return RunningGuard(url=f"http://127.0.0.1:{port}/mcp", agent_id=agent_id, config=config,
                            config_file=config_file, log=log)

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)
