"""PdpClient (sync) and AsyncPdpClient: pooled HTTP clients for the PDP that fail closed.

`decide` never raises for a transport error, a timeout, a refused request or a malformed answer: it
returns a DENY `Decision` whose `failure` says what went wrong. Only ALLOW/CONSTRAIN (`permitted`) lets a
call go on. Bearer tokens and credentials are never logged.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .model import AgentManifest, Approval, Credential, Decision, ManifestTool, Outcome, ToolCall
from .request import build_decision_request

log = logging.getLogger("agent_pdp")

TokenSource = str | Callable[[], str]
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_SERVER_WAIT_SECONDS = 30


class PdpError(Exception):
    """Raised only by approver/admin operations (approve, quarantine), never by decide."""

    def __init__(self, message: str, status: int | None = None, problem: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.problem = dict(problem or {})


def _str_list(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None
    return tuple(value)


def parse_decision(status: int, body: Any) -> Decision:
    """Maps one HTTP answer of POST /v1/decisions to a Decision; anything unexpected is DENY."""
    if status != 200:
        decision_id = body.get("decision_id") if isinstance(body, dict) else None
        detail = body.get("title") if isinstance(body, dict) else None
        reasons = ("pdp_refused", f"http_{status}")
        return Decision(
            outcome=Outcome.DENY,
            reasons=reasons,
            decision_id=decision_id if isinstance(decision_id, str) else None,
            failure=f"the PDP answered {status}" + (f" ({detail})" if isinstance(detail, str) else ""),
        )
    if not isinstance(body, dict):
        return Decision.fail_closed("pdp_malformed_answer", "the answer is no JSON object")
    try:
        outcome = Outcome(body.get("outcome"))
    except ValueError:
        return Decision.fail_closed("pdp_malformed_answer", "unknown outcome")
    decision_id = body.get("decision_id")
    reasons = _str_list(body.get("reasons"))
    obligations = _str_list(body.get("obligations"))
    if not isinstance(decision_id, str) or not _UUID.match(decision_id) or reasons is None or obligations is None:
        return Decision.fail_closed("pdp_malformed_answer", "decision_id, reasons or obligations missing or invalid")
    credential = None
    raw_credential = body.get("credential")
    if raw_credential is not None:
        credential = _parse_credential(raw_credential)
        if credential is None:
            return Decision.fail_closed("pdp_malformed_answer", "invalid credential", decision_id)
    approval_id = approval_status = None
    if outcome is Outcome.STEP_UP:
        approval = body.get("approval")
        if not isinstance(approval, dict) or not isinstance(approval.get("id"), str) \
                or not _UUID.match(approval["id"]):
            return Decision.fail_closed("pdp_malformed_answer", "STEP_UP without an approval id", decision_id)
        approval_id, approval_status = approval["id"], approval.get("status")
    if outcome in (Outcome.DENY, Outcome.STEP_UP) and credential is not None:
        # A credential on a refusal is a contract violation; drop it rather than hand it out.
        credential = None
    revision = body.get("policy_revision")
    return Decision(
        outcome=outcome,
        reasons=reasons,
        obligations=obligations,
        decision_id=decision_id,
        credential=credential,
        approval_id=approval_id,
        approval_status=approval_status if isinstance(approval_status, str) else None,
        policy_revision=revision if isinstance(revision, str) else None,
    )


def _parse_credential(raw: Any) -> Credential | None:
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    token = raw.get("token")
    policies = _str_list(raw.get("policies"))
    if kind not in ("wrapped_token", "token", "reuse") or policies is None:
        return None
    if kind != "reuse" and (not isinstance(token, str) or not token):
        return None
    ttl, uses = raw.get("ttl_seconds"), raw.get("num_uses")
    if not isinstance(ttl, int) or not isinstance(uses, int):
        return None
    return Credential(
        type=kind,
        token=token if isinstance(token, str) else None,
        ttl_seconds=ttl,
        num_uses=uses,
        policies=policies,
        expires_at=raw.get("expires_at") if isinstance(raw.get("expires_at"), str) else None,
        reused_decision_id=raw.get("reused_decision_id") if isinstance(raw.get("reused_decision_id"), str) else None,
    )


def parse_approval(approval_id: str, status: int, body: Any) -> Approval:
    if status != 200 or not isinstance(body, dict):
        return Approval(id=approval_id, status=None, failure=f"the PDP answered {status}")
    state = body.get("status")
    if body.get("id") != approval_id or not isinstance(state, str):
        return Approval(id=approval_id, status=None, failure="malformed approval")
    expires = body.get("expires_at")
    return Approval(
        id=approval_id,
        status=state,
        retry_decision=body.get("retry_decision") is True,
        expires_at=expires if isinstance(expires, str) else None,
        raw=body,
    )


def parse_manifest(agent_id: str, status: int, body: Any) -> AgentManifest:
    """The calling enforcement point's manifest entry for `agent_id`; raises PdpError when the answer is not a
    valid manifest or does not bind that agent to the caller (the guard then refuses to start)."""
    if status != 200 or not isinstance(body, dict):
        title = body.get("title") if isinstance(body, dict) else None
        raise PdpError(f"the manifest answered {status}" + (f" ({title})" if isinstance(title, str) else ""), status,
                       body if isinstance(body, dict) else None)
    agents = body.get("agents")
    if not isinstance(agents, list):
        raise PdpError("malformed manifest: no agents")
    entry = next((a for a in agents if isinstance(a, dict) and a.get("id") == agent_id), None)
    if entry is None:
        raise PdpError(f"agent {agent_id!r} is not bound to this enforcement point in the registry", status)
    tools: dict[str, ManifestTool] = {}
    for raw in entry.get("tools") or []:
        kinds = _str_list(raw.get("action_kinds")) if isinstance(raw, dict) else None
        if kinds is None or not isinstance(raw.get("name"), str) or not isinstance(raw.get("target_system"), str):
            raise PdpError("malformed manifest: a tool without name, target system or action kinds")
        schema = raw.get("argument_schema")
        tools[raw["name"]] = ManifestTool(
            name=raw["name"], target_system=raw["target_system"], action_kinds=kinds,
            risk_tier=str(raw.get("risk_tier")), read_only=raw.get("read_only") is True,
            destructive=raw.get("destructive") is True, version=int(raw.get("version") or 0),
            argument_schema=schema if isinstance(schema, dict) else None)
    unregistered = _str_list(entry.get("unregistered_tools") or [])
    return AgentManifest(agent_id=agent_id, enabled=entry.get("enabled") is True, tools=tools,
                         unregistered_tools=unregistered or ())


MANIFEST_PATH = "/v1/registry/enforcement-points/self"


def _wait_param(seconds: float | None) -> dict[str, str]:
    if not seconds or seconds <= 0:
        return {}
    return {"wait": f"{min(int(seconds * 1000), MAX_SERVER_WAIT_SECONDS * 1000)}ms"}


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class _Base:
    def __init__(self, base_url: str, token: TokenSource, timeout: float):
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def _headers(self) -> dict[str, str]:
        token = self._token() if callable(self._token) else self._token
        return {"Authorization": f"Bearer {token}", "Accept": "application/json, application/problem+json"}

    def _check_approval_id(self, approval_id: str) -> None:
        if not _UUID.match(approval_id):
            raise ValueError("approval ids are UUIDs")


class PdpClient(_Base):
    """Synchronous client; one pooled httpx.Client. Use as a context manager or call close()."""

    def __init__(self, base_url: str, token: TokenSource, *, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None):
        super().__init__(base_url, token, timeout)
        self._http = httpx.Client(base_url=self._base_url, timeout=timeout, transport=transport,
                                  limits=httpx.Limits(max_keepalive_connections=10, max_connections=50))

    def __enter__(self) -> PdpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def decide(self, call: ToolCall) -> Decision:
        try:
            response = self._http.post("/v1/decisions", json=build_decision_request(call), headers=self._headers())
        except Exception as error:  # noqa: BLE001 - every failure on the way to a decision is a DENY
            log.warning("PDP decide failed: %s", type(error).__name__)
            return Decision.fail_closed("pdp_unavailable", f"transport error: {type(error).__name__}")
        return parse_decision(response.status_code, _json(response))

    def get_approval(self, approval_id: str, *, wait: float | None = None) -> Approval:
        self._check_approval_id(approval_id)
        timeout = self._timeout + (min(wait, MAX_SERVER_WAIT_SECONDS) if wait else 0)
        try:
            response = self._http.get(f"/v1/approvals/{approval_id}", params=_wait_param(wait),
                                      headers=self._headers(), timeout=timeout)
        except Exception as error:  # noqa: BLE001
            return Approval(id=approval_id, status=None, failure=f"transport error: {type(error).__name__}")
        return parse_approval(approval_id, response.status_code, _json(response))

    def wait_for_approval(self, approval_id: str, *, timeout: float) -> Approval:
        """Long-polls until the approval leaves PENDING or `timeout` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            approval = self.get_approval(approval_id, wait=max(remaining, 0.001))
            if not approval.pending or time.monotonic() >= deadline:
                return approval

    def approve(self, approval_id: str, comment: str) -> Approval:
        """An approver's vote (the token must carry scope `approver`). Raises PdpError when refused."""
        self._check_approval_id(approval_id)
        response = self._http.post(f"/v1/approvals/{approval_id}/approve", json={"comment": comment},
                                   headers=self._headers())
        if response.status_code != 200:
            raise PdpError(f"approve answered {response.status_code}", response.status_code, _json(response) or {})
        return parse_approval(approval_id, 200, _json(response))

    def quarantine(self, agent_id: str, reason: str) -> Mapping[str, Any]:
        """Quarantines an agent (scope `security-admin`). Raises PdpError when refused."""
        response = self._http.post(f"/v1/agents/{agent_id}/quarantine", json={"reason": reason},
                                   headers=self._headers())
        if response.status_code != 200:
            raise PdpError(f"quarantine answered {response.status_code}", response.status_code,
                           _json(response) or {})
        body = _json(response)
        return body if isinstance(body, dict) else {}

    def manifest(self, agent_id: str) -> AgentManifest:
        """The registry's entry for `agent_id` as the calling enforcement point may read it (scope decide).
        Raises PdpError when it cannot be read or the agent is not bound to the caller."""
        try:
            response = self._http.get(MANIFEST_PATH, params={"agent": agent_id}, headers=self._headers())
        except Exception as error:  # noqa: BLE001
            raise PdpError(f"manifest: transport error: {type(error).__name__}") from None
        return parse_manifest(agent_id, response.status_code, _json(response))


class AsyncPdpClient(_Base):
    """Asynchronous client; one pooled httpx.AsyncClient. Use `async with` or call aclose()."""

    def __init__(self, base_url: str, token: TokenSource, *, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None):
        super().__init__(base_url, token, timeout)
        self._http = httpx.AsyncClient(base_url=self._base_url, timeout=timeout, transport=transport,
                                       limits=httpx.Limits(max_keepalive_connections=10, max_connections=50))

    async def __aenter__(self) -> AsyncPdpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def decide(self, call: ToolCall) -> Decision:
        try:
            body = build_decision_request(call)
            response = await self._http.post("/v1/decisions", json=body, headers=self._headers())
        except Exception as error:  # noqa: BLE001 - every failure on the way to a decision is a DENY
            log.warning("PDP decide failed: %s", type(error).__name__)
            return Decision.fail_closed("pdp_unavailable", f"transport error: {type(error).__name__}")
        return parse_decision(response.status_code, _json(response))

    async def get_approval(self, approval_id: str, *, wait: float | None = None) -> Approval:
        self._check_approval_id(approval_id)
        timeout = self._timeout + (min(wait, MAX_SERVER_WAIT_SECONDS) if wait else 0)
        try:
            response = await self._http.get(f"/v1/approvals/{approval_id}", params=_wait_param(wait),
                                            headers=self._headers(), timeout=timeout)
        except Exception as error:  # noqa: BLE001
            return Approval(id=approval_id, status=None, failure=f"transport error: {type(error).__name__}")
        return parse_approval(approval_id, response.status_code, _json(response))

    async def wait_for_approval(self, approval_id: str, *, timeout: float) -> Approval:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            approval = await self.get_approval(approval_id, wait=max(remaining, 0.001))
            if not approval.pending or time.monotonic() >= deadline:
                return approval

    async def manifest(self, agent_id: str) -> AgentManifest:
        """As PdpClient.manifest."""
        try:
            response = await self._http.get(MANIFEST_PATH, params={"agent": agent_id}, headers=self._headers())
        except Exception as error:  # noqa: BLE001
            raise PdpError(f"manifest: transport error: {type(error).__name__}") from None
        return parse_manifest(agent_id, response.status_code, _json(response))
