"""agent-pdp-guard: an MCP server that fronts upstream MCP servers and asks the PDP before every tools/call.

Built on the `mcp` SDK's low-level Server (the guard answers tools/list and tools/call itself) and its
Client (one upstream connection per permitted call, carrying that call's credential).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..client import AsyncPdpClient, PdpClient, PdpError
from ..credentials import CredentialError, Secret, usable_token
from ..model import AgentManifest, Decision, Outcome, ToolCall
from ..request import call_digest, idempotency_key
from ..svid import FileSvidSource, NoSvid, SvidSource, WorkloadApiSvidSource
from .config import ConfigError, GuardConfig, GuardedTool, TargetError, Upstream

log = logging.getLogger("agent_pdp.guard")
TOOL_CALL_ID_META = "agent-pdp/tool_call_id"
DECISION_META = "agent-pdp/decision"
APPROVAL_INPUT = "agent-pdp/approval"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")
# Open approvals the guard remembers (idempotency key -> approval); the oldest are forgotten beyond this,
# which costs at most a new approval request for a very old call, never a call without one.
MAX_REMEMBERED_APPROVALS = 4096


class ManifestSource(Protocol):
    """Which registry tools the agent may use; decides what tools/list shows (the PDP still decides calls)."""

    async def allowed_registry_tools(self) -> set[str] | None:
        """None: no manifest known, every configured tool is listed."""


class ConfigManifest:
    """The manifest from the guard's own config (`manifest.allowed_tools`), or every configured tool."""

    def __init__(self, config: GuardConfig):
        self._allowed = set(config.manifest_tools) if config.manifest_tools is not None else None

    async def allowed_registry_tools(self) -> set[str] | None:
        return self._allowed


def mapping_problems(config: GuardConfig, manifest: AgentManifest) -> list[str]:
    """What in the guard's tool mappings the registry contradicts: a registry tool the agent may not use (or the
    registry does not know), an action kind the tool is not registered for, another target system. Any of these
    would be DENY at the PDP on every call; the guard refuses to start with them instead."""
    problems = []
    for tool in config.tools.values():
        facts = manifest.tools.get(tool.registry_tool)
        if facts is None:
            problems.append(f"tool {tool.name!r}: {tool.registry_tool!r} is not a registered tool agent "
                            f"{manifest.agent_id!r} may use")
            continue
        if tool.action not in facts.action_kinds:
            problems.append(f"tool {tool.name!r}: {tool.registry_tool!r} is registered for "
                            f"{', '.join(facts.action_kinds)}, not {tool.action}")
        if tool.target_system.lower() != facts.target_system.lower():
            problems.append(f"tool {tool.name!r}: {tool.registry_tool!r} acts on {facts.target_system!r}, "
                            f"not {tool.target_system!r}")
    return problems


class RegistryManifest:
    """The agent's allowed tools from the PDP's registry (GET /v1/registry/enforcement-points/self, with the
    guard's decide token). Loaded and checked against the tool mappings at start (`load`: the guard refuses
    to start when the agent is not bound to it or a mapping is unknown), refreshed every
    `manifest.refresh_seconds` on tools/list; a failed refresh keeps the last manifest."""

    def __init__(self, config: GuardConfig, pdp: AsyncPdpClient, clock: Any = time.monotonic):
        self._config = config
        self._pdp = pdp
        self._clock = clock
        self._manifest: AgentManifest | None = None
        self._loaded_at = 0.0

    def load(self, client: PdpClient) -> AgentManifest:
        manifest = client.manifest(self._config.agent_id)
        problems = mapping_problems(self._config, manifest)
        if problems:
            raise ConfigError("the registry contradicts the tool mappings: " + "; ".join(problems))
        if not manifest.enabled:
            log.warning("agent %s is disabled in the registry: every call will be denied", manifest.agent_id)
        self._store(manifest)
        return manifest

    def _store(self, manifest: AgentManifest) -> None:
        self._manifest = manifest
        self._loaded_at = self._clock()

    async def allowed_registry_tools(self) -> set[str] | None:
        if self._manifest is None or self._clock() - self._loaded_at >= self._config.manifest_refresh_seconds:
            try:
                self._store(await self._pdp.manifest(self._config.agent_id))
            except PdpError as error:
                log.warning("registry manifest refresh failed (%s); keeping the last one", error)
        if self._manifest is None or not self._manifest.enabled:
            return set()  # nothing known (or a disabled agent): list nothing; calls are decided anyway
        return set(self._manifest.tools)


@dataclass
class _PendingApproval:
    approval_id: str
    call: str  # call_digest of the registry tool and arguments the approval was asked for


def redact_pii(text: str) -> str:
    return _PHONE.sub("[redacted phone]", _EMAIL.sub("[redacted email]", text))


def _scrub(value: Any, secrets: list[str], redact: bool) -> Any:
    """Removes credentials (always) and PII (when `redact`) from every string in a result value."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "[credential withheld]")
        return redact_pii(value) if redact else value
    if isinstance(value, list):
        return [_scrub(item, secrets, redact) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, secrets, redact) for key, item in value.items()}
    return value


def error_result(message: str, detail: Mapping[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message + "\n" + json.dumps(detail, sort_keys=True))],
        structured_content=dict(detail),
        is_error=True,
    )


class Guard:
    def __init__(self, config: GuardConfig, *, pdp: AsyncPdpClient | None = None,
                 manifest: ManifestSource | None = None, svid: SvidSource | None = None):
        self.config = config
        self.pdp = pdp or AsyncPdpClient(config.pdp_url, config.pdp_token, timeout=config.pdp_timeout_seconds)
        self.manifest = manifest or (RegistryManifest(config, self.pdp) if config.manifest_source == "registry"
                                     else ConfigManifest(config))
        self.svid = svid or self._svid_source(config)
        self.run_id = config.task_id or f"guard-{uuid.uuid4().hex[:12]}"
        self._pending: OrderedDict[str, _PendingApproval] = OrderedDict()
        self.server: Server[Any] = Server("agent-pdp-guard", version="0.1.0",
                                          on_list_tools=self.list_tools, on_call_tool=self.call_tool)

    def prepare(self) -> None:
        """Checks, before serving, what can be checked: with `manifest.source: registry` the agent must be bound
        to this guard's enforcement point and every mapping must name a tool the registry allows it. Raises
        ConfigError or PdpError (the guard then does not start)."""
        if isinstance(self.manifest, RegistryManifest):
            with PdpClient(self.config.pdp_url, self.config.pdp_token, timeout=self.config.pdp_timeout_seconds) as client:
                self.manifest.load(client)

    @staticmethod
    def _svid_source(config: GuardConfig) -> SvidSource:
        if config.svid_file:
            return FileSvidSource(config.svid_file)
        if config.svid_workload_api_audience:
            return WorkloadApiSvidSource(config.svid_workload_api_audience, config.svid_workload_api_socket,
                                         spiffe_id=config.svid_workload_api_spiffe_id)
        return NoSvid()

    # --- tools/list -----------------------------------------------------------------------------
    async def list_tools(self, ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
        allowed = await self.manifest.allowed_registry_tools()
        visible = [t for t in self.config.tools.values() if allowed is None or t.registry_tool in allowed]
        upstream_tools: dict[str, dict[str, types.Tool]] = {}
        for name in {t.upstream for t in visible}:
            try:
                async with self._connect(self.config.upstreams[name], None) as client:
                    listing = await client.list_tools()
                upstream_tools[name] = {tool.name: tool for tool in listing.tools}
            except Exception as error:  # noqa: BLE001 - an unreachable upstream just lists nothing
                log.warning("listing tools of upstream %s failed: %s", name, type(error).__name__)
                upstream_tools[name] = {}
        tools = []
        for guarded in visible:
            upstream_tool = upstream_tools.get(guarded.upstream, {}).get(guarded.upstream_tool)
            if upstream_tool is None:
                continue
            tools.append(upstream_tool.model_copy(update={"name": guarded.name}))
        return types.ListToolsResult(tools=tools)

    # --- tools/call -----------------------------------------------------------------------------
    async def call_tool(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
                        ) -> types.CallToolResult | types.InputRequiredResult:
        try:
            return await self._call_tool(params, self._client_takes_url_elicitation(ctx))
        except Exception as error:  # noqa: BLE001 - a guard fault is a DENY, never a forwarded call
            log.exception("guard failure on %s", params.name)
            return error_result("Denied by agent-pdp-guard: internal error.",
                                {"outcome": "DENY", "reasons": ["guard_error"], "decision_id": None,
                                 "error": type(error).__name__})

    @staticmethod
    def _client_takes_url_elicitation(ctx: ServerRequestContext[Any]) -> bool:
        """URL-mode elicitation travels in an InputRequiredResult, which only 2026-07-28+ clients understand."""
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            return False
        capabilities = ctx.session.client_capabilities
        return bool(capabilities and capabilities.elicitation and capabilities.elicitation.url is not None)

    async def _call_tool(self, params: types.CallToolRequestParams, url_elicitation: bool
                         ) -> types.CallToolResult | types.InputRequiredResult:
        arguments: dict[str, Any] = dict(params.arguments or {})
        guarded = self.config.tools.get(params.name)
        if guarded is None:
            return error_result(f"Denied by agent-pdp-guard: tool {params.name!r} is not configured.",
                                {"outcome": "DENY", "reasons": ["tool_not_configured"], "decision_id": None})
        try:
            resource = guarded.resource(arguments)
        except TargetError as error:
            return error_result(f"Denied by agent-pdp-guard: {error}.",
                                {"outcome": "DENY", "reasons": ["target_not_derivable"], "decision_id": None})

        key = idempotency_key(self.run_id, self._tool_call_id(params, guarded, arguments))
        digest = call_digest(guarded.registry_tool, arguments)
        pending = self._pending.get(key)
        if pending and pending.call != digest:
            # The key (a client-supplied tool-call id) was used for other arguments: never send the other call's
            # approval along. The PDP refuses the key for this action (DENY idempotency_key_reused) while it is open.
            pending = None
        answer = (params.input_responses or {}).get(APPROVAL_INPUT)
        if pending and answer is not None:
            if getattr(answer, "action", None) != "accept":
                return error_result("The user did not confirm the approval; the call was not made.",
                                    {"outcome": "DENY", "reasons": ["approval_not_confirmed"], "decision_id": None,
                                     "approval_id": pending.approval_id})
            # The user says they approved (or asked an approver): wait for the PDP to see it, then decide.
            await self.pdp.wait_for_approval(pending.approval_id, timeout=self.config.approval_wait_seconds)
        if pending:
            # Still pending: answer without a decision request, so that an agent retrying while a human has
            # not decided yet piles up no DENYs (which count towards the PDP's deny-burst quarantine).
            approval = await self.pdp.get_approval(pending.approval_id)
            if approval.pending:
                approve_url = self.config.approve_url_template.format(approval_id=pending.approval_id)
                return error_result(
                    f"Approval required: request {pending.approval_id} is still pending ({approve_url}); "
                    "repeat exactly the same call once it is approved.",
                    {"outcome": "STEP_UP", "reasons": ["approval_pending"], "decision_id": None,
                     "approval_id": pending.approval_id, "approve_url": approve_url})
        try:
            workload_token = self.svid.jwt_svid()
        except Exception as error:  # noqa: BLE001 - no identity is sent; policy decides what that means
            log.warning("no JWT-SVID: %s", type(error).__name__)
            workload_token = None
        call = ToolCall(
            tenant=self.config.tenant, agent_id=self.config.agent_id, task_id=self.run_id,
            intent=self.config.intent, tool=guarded.registry_tool, action=guarded.action,
            target_system=guarded.target_system, target_resource=resource,
            data_classification=guarded.classification, arguments=arguments,
            workload_identity_token=workload_token, idempotency_key=key,
            approval_id=pending.approval_id if pending else None,
        )
        decision = await self.pdp.decide(call)
        detail = {"outcome": decision.outcome.value, "reasons": list(decision.reasons),
                  "decision_id": decision.decision_id}

        if decision.outcome is Outcome.STEP_UP and decision.approval_id:
            self._pending[key] = _PendingApproval(decision.approval_id, digest)
            self._pending.move_to_end(key)
            while len(self._pending) > MAX_REMEMBERED_APPROVALS:
                self._pending.popitem(last=False)
            approve_url = self.config.approve_url_template.format(approval_id=decision.approval_id)
            if url_elicitation:
                message = (f"agent-pdp: {guarded.registry_tool} on {resource} needs a human approval "
                           f"(request {decision.approval_id}, reasons: {', '.join(decision.reasons)}). "
                           "Open the link, approve, then confirm here.")
                return types.InputRequiredResult(input_requests={
                    APPROVAL_INPUT: types.ElicitRequest(params=types.ElicitRequestURLParams(message=message,
                                                                                            url=approve_url))})
            return error_result(
                "Approval required before this call can run. A human approver must approve request "
                f"{decision.approval_id} ({approve_url}); then repeat exactly the same call.",
                {**detail, "approval_id": decision.approval_id, "approve_url": approve_url})
        if not decision.permitted:
            if pending and "approval_pending" in decision.reasons:
                approve_url = self.config.approve_url_template.format(approval_id=pending.approval_id)
                return error_result(
                    f"Still waiting for approval {pending.approval_id} ({approve_url}); repeat the call once approved.",
                    {**detail, "approval_id": pending.approval_id, "approve_url": approve_url})
            if pending:
                # Spent, denied, expired or mismatched: a later identical call starts a new approval.
                self._pending.pop(key, None)
            return error_result("Denied by the policy decision point: " + ", ".join(decision.reasons) + ".",
                                detail)

        unenforceable = [o for o in decision.obligations
                         if o not in self.config.enforced_obligations and o not in self.config.advisory_obligations]
        if unenforceable:
            return error_result("Denied by agent-pdp-guard: it cannot enforce obligation(s) "
                                + ", ".join(unenforceable) + ".",
                                {**detail, "outcome": "DENY", "reasons": ["obligation_not_enforceable"]})
        if "log_full_arguments" in decision.obligations:
            log.info("decision %s: %s arguments %s", decision.decision_id, guarded.registry_tool,
                     json.dumps(arguments, sort_keys=True, default=str))
        return await self._forward(guarded, arguments, decision, detail)

    def _tool_call_id(self, params: types.CallToolRequestParams, guarded: GuardedTool,
                      arguments: Mapping[str, Any]) -> str:
        raw_meta: Any = params.meta
        meta = raw_meta.model_dump(by_alias=True) if hasattr(raw_meta, "model_dump") else (raw_meta or {})
        supplied = meta.get(TOOL_CALL_ID_META) if isinstance(meta, dict) else None
        if isinstance(supplied, str) and supplied:
            return supplied
        # Without a client-supplied id, "the same call" is the same tool with the same arguments.
        return call_digest(guarded.registry_tool, arguments)

    async def _forward(self, guarded: GuardedTool, arguments: dict[str, Any], decision: Decision,
                       detail: dict[str, Any]) -> types.CallToolResult:
        upstream = self.config.upstreams[guarded.upstream]
        secret: Secret | None = None
        if decision.credential is not None and decision.credential.type != "reuse":
            try:
                secret = await usable_token(decision.credential, self.config.vault_addr)
            except CredentialError as error:
                return error_result(f"Denied by agent-pdp-guard: the credential could not be used ({error}).",
                                    {**detail, "outcome": "DENY", "reasons": ["credential_unavailable"]})
        upstream_arguments = dict(arguments)
        if secret is not None and upstream.credential.argument:
            upstream_arguments[upstream.credential.argument] = str(secret)
        try:
            async with self._connect(upstream, secret) as client:
                result = await client.call_tool(guarded.upstream_tool, upstream_arguments)
        except Exception as error:  # noqa: BLE001 - the model learns the call failed, nothing more
            log.warning("upstream %s failed: %s", upstream.name, type(error).__name__)
            return error_result("The upstream tool server could not be reached.",
                                {**detail, "upstream_error": type(error).__name__})
        secrets = [str(secret)] if secret is not None else []
        if decision.credential is not None and decision.credential.token:
            secrets.append(decision.credential.token)
        redact = "redact_pii" in decision.obligations
        # Every content block (text, embedded resources, ...) is scrubbed, not only plain text.
        content = [type(block).model_validate(_scrub(block.model_dump(by_alias=True, exclude_none=True),
                                                     secrets, redact)) for block in result.content]
        meta = {DECISION_META: {"decision_id": decision.decision_id, "outcome": decision.outcome.value,
                                "obligations": list(decision.obligations)}}
        return types.CallToolResult(
            content=content,
            structured_content=_scrub(result.structured_content, secrets, redact),
            is_error=result.is_error,
            _meta=meta,
        )

    def _connect(self, upstream: Upstream, secret: Secret | None) -> Client:
        delivery = upstream.credential
        if upstream.transport == "streamable_http":
            headers: dict[str, str] = {}
            if secret is not None and delivery.header:
                headers[delivery.header] = f"{delivery.scheme} {secret}" if delivery.scheme else str(secret)
            http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0))
            return Client(streamable_http_client(upstream.url or "", http_client=http), cache=None)
        env = dict(upstream.env)
        if secret is not None and delivery.env:
            env[delivery.env] = str(secret)
        params = StdioServerParameters(command=upstream.command or "", args=list(upstream.args), env=env or None)
        return Client(params, cache=None)

    async def aclose(self) -> None:
        await self.pdp.aclose()


async def serve_stdio(guard: Guard) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream), AsyncExitStack():
        await guard.server.run(read_stream, write_stream, guard.server.create_initialization_options())
