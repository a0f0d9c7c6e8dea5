"""The guard's YAML configuration and the derivation of a decision target from a call's arguments."""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACTIONS = {"read", "write", "delete", "execute", "payment", "privilege_grant", "secret_read"}
CLASSIFICATIONS = {"public", "internal", "confidential", "restricted"}
# A value put into a resource template must be one path segment: no "/", no "." / "..", no control
# characters. Otherwise `contacts/{id}` with id "../vip/7" would name a resource the template never meant
# and slip past the PDP's classification prefixes.
_SEGMENT = re.compile(r"^[A-Za-z0-9_@:+=,~-][A-Za-z0-9._@:+=,~-]{0,199}$")


class ConfigError(ValueError):
    pass


class TargetError(ValueError):
    """The call's arguments do not fill the tool's target template; the call is denied."""


@dataclass(frozen=True)
class CredentialDelivery:
    """How an upstream receives the credential: an HTTP header, an environment variable (stdio) or an argument."""

    header: str | None = None
    scheme: str | None = None
    env: str | None = None
    argument: str | None = None


@dataclass(frozen=True)
class Upstream:
    name: str
    transport: str  # "streamable_http" | "stdio"
    url: str | None = None
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    credential: CredentialDelivery = field(default_factory=CredentialDelivery)


@dataclass(frozen=True)
class GuardedTool:
    name: str  # the name the model sees
    upstream: str
    upstream_tool: str
    registry_tool: str
    action: str
    target_system: str
    resource_template: str
    classification: str

    def resource(self, arguments: Mapping[str, Any]) -> str:
        return derive_resource(self.resource_template, arguments)


@dataclass(frozen=True)
class GuardConfig:
    pdp_url: str
    pdp_token_file: str | None
    pdp_token_env: str | None
    pdp_timeout_seconds: float
    approval_wait_seconds: float
    approve_url_template: str
    vault_addr: str | None
    tenant: str
    agent_id: str
    task_id: str | None
    intent: str
    svid_file: str | None
    svid_workload_api_audience: str | None
    svid_workload_api_socket: str | None
    svid_workload_api_spiffe_id: str | None
    manifest_source: str  # "config" | "registry"
    manifest_tools: tuple[str, ...] | None
    manifest_refresh_seconds: float
    upstreams: Mapping[str, Upstream]
    tools: Mapping[str, GuardedTool]
    enforced_obligations: frozenset[str]
    advisory_obligations: frozenset[str]

    def pdp_token(self) -> str:
        """Read on every call, so that a rotated token file is picked up without a restart."""
        if self.pdp_token_file:
            return Path(self.pdp_token_file).read_text(encoding="ascii").strip()
        if self.pdp_token_env and os.environ.get(self.pdp_token_env):
            return os.environ[self.pdp_token_env]
        raise ConfigError("no PDP token: set pdp.token_file or pdp.token_env")


def template_fields(template: str) -> list[str]:
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) or spec or conversion:
            raise ConfigError(f"template {template!r}: only plain {{argument}} placeholders are allowed")
        names.append(name)
    return names


def derive_resource(template: str, arguments: Mapping[str, Any]) -> str:
    """Fills `{name}` placeholders from the call's top-level arguments. Every placeholder must be a
    string or integer argument that is one plain path segment; anything else raises TargetError."""
    values: dict[str, str] = {}
    for name in template_fields(template):
        if name not in arguments:
            raise TargetError(f"argument {name!r} is missing")
        value = arguments[name]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TargetError(f"argument {name!r} must be a string or an integer")
        text = str(value)
        if not _SEGMENT.match(text) or text in (".", ".."):
            raise TargetError(f"argument {name!r} is not a single plain path segment")
        values[name] = text
    resource = template.format(**values)
    if not resource or len(resource) > 512:
        raise TargetError("the derived resource is empty or longer than 512 characters")
    return resource


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping or mapping[key] in (None, ""):
        raise ConfigError(f"{where}: {key} is required")
    return mapping[key]


def load_config(path: str | Path) -> GuardConfig:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return parse_config(raw, base_dir=Path(path).resolve().parent)


def parse_config(raw: Any, base_dir: Path | None = None) -> GuardConfig:
    if not isinstance(raw, dict):
        raise ConfigError("the guard config must be a YAML mapping")
    base = base_dir or Path.cwd()

    def path_of(value: str | None) -> str | None:
        if not value:
            return None
        p = Path(os.path.expandvars(value))
        return str(p if p.is_absolute() else (base / p).resolve())

    pdp = _require(raw, "pdp", "config")
    agent = _require(raw, "agent", "config")
    vault = raw.get("vault") or {}
    svid = agent.get("svid") or {}
    manifest = raw.get("manifest") or {"source": "config"}

    upstreams: dict[str, Upstream] = {}
    for name, up in (_require(raw, "upstreams", "config") or {}).items():
        transport = _require(up, "transport", f"upstreams.{name}")
        if transport not in ("streamable_http", "stdio"):
            raise ConfigError(f"upstreams.{name}.transport must be streamable_http or stdio")
        cred = up.get("credential") or {}
        delivery = CredentialDelivery(header=cred.get("header"), scheme=cred.get("scheme"),
                                      env=cred.get("env"), argument=cred.get("argument"))
        if transport == "streamable_http" and (delivery.env):
            raise ConfigError(f"upstreams.{name}: an HTTP upstream takes the credential as a header or argument")
        if transport == "stdio" and delivery.header:
            raise ConfigError(f"upstreams.{name}: a stdio upstream takes the credential as env or argument")
        upstreams[name] = Upstream(
            name=name, transport=transport,
            url=os.path.expandvars(_require(up, "url", f"upstreams.{name}")) if transport == "streamable_http" else None,
            command=_require(up, "command", f"upstreams.{name}") if transport == "stdio" else None,
            args=tuple(os.path.expandvars(str(a)) for a in up.get("args") or ()),
            env={str(k): os.path.expandvars(str(v)) for k, v in (up.get("env") or {}).items()},
            credential=delivery,
        )

    tools: dict[str, GuardedTool] = {}
    for entry in _require(raw, "tools", "config"):
        where = f"tools[{entry.get('name') or entry.get('upstream_tool')}]"
        upstream = _require(entry, "upstream", where)
        if upstream not in upstreams:
            raise ConfigError(f"{where}: unknown upstream {upstream!r}")
        upstream_tool = _require(entry, "upstream_tool", where)
        target = _require(entry, "target", where)
        action = _require(entry, "action", where)
        classification = entry.get("classification", "internal")
        if action not in ACTIONS:
            raise ConfigError(f"{where}: action must be one of {sorted(ACTIONS)}")
        if classification not in CLASSIFICATIONS:
            raise ConfigError(f"{where}: classification must be one of {sorted(CLASSIFICATIONS)}")
        resource_template = _require(target, "resource", f"{where}.target")
        template_fields(resource_template)
        tool = GuardedTool(
            name=entry.get("name") or upstream_tool, upstream=upstream, upstream_tool=upstream_tool,
            registry_tool=_require(entry, "registry_tool", where), action=action,
            target_system=_require(target, "system", f"{where}.target"),
            resource_template=resource_template, classification=classification,
        )
        if tool.name in tools:
            raise ConfigError(f"{where}: tool name {tool.name!r} is configured twice")
        tools[tool.name] = tool

    source = manifest.get("source", "config")
    if source not in ("config", "registry"):
        raise ConfigError("manifest.source must be config or registry")
    allowed = manifest.get("allowed_tools")
    if source == "registry" and allowed is not None:
        # One source of truth: a list in the config would silently disagree with the registry.
        raise ConfigError("manifest.allowed_tools is for source config; source registry reads them from the PDP")
    refresh = float(manifest.get("refresh_seconds", 60))
    if refresh <= 0:
        raise ConfigError("manifest.refresh_seconds must be positive")
    pdp_url = str(_require(pdp, "url", "pdp")).rstrip("/")
    return GuardConfig(
        pdp_url=pdp_url,
        pdp_token_file=path_of(pdp.get("token_file")),
        pdp_token_env=pdp.get("token_env"),
        pdp_timeout_seconds=float(pdp.get("timeout_seconds", 5)),
        approval_wait_seconds=float(pdp.get("approval_wait_seconds", 60)),
        approve_url_template=pdp.get("approve_url", pdp_url + "/v1/approvals/{approval_id}/approve"),
        vault_addr=os.path.expandvars(vault["addr"]) if vault.get("addr") else None,
        tenant=_require(agent, "tenant", "agent"),
        agent_id=_require(agent, "id", "agent"),
        task_id=agent.get("task_id"),
        intent=agent.get("intent", "tool call through agent-pdp-guard"),
        svid_file=path_of(svid.get("file")),
        svid_workload_api_audience=(svid.get("workload_api") or {}).get("audience"),
        svid_workload_api_socket=(svid.get("workload_api") or {}).get("socket"),
        svid_workload_api_spiffe_id=(svid.get("workload_api") or {}).get("spiffe_id"),
        manifest_source=source,
        manifest_tools=tuple(allowed) if allowed is not None else None,
        manifest_refresh_seconds=refresh,
        upstreams=upstreams,
        tools=tools,
        enforced_obligations=frozenset({"redact_pii", "log_full_arguments"}),
        advisory_obligations=frozenset(raw.get("advisory_obligations", ["no_export", "no_persist"])),
    )
