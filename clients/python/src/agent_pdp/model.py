"""Value types of the PDP API (openapi.yaml) as the SDK hands them to callers."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.Enum):
    ALLOW = "ALLOW"
    DENY = "DENY"
    STEP_UP = "STEP_UP"
    CONSTRAIN = "CONSTRAIN"


@dataclass(frozen=True)
class Credential:
    """A just-in-time credential. `token` is a secret: it never appears in repr() or logs."""

    type: str
    token: str | None = field(repr=False)
    ttl_seconds: int
    num_uses: int
    policies: tuple[str, ...]
    expires_at: str | None = None
    reused_decision_id: str | None = None

    @property
    def wrapped(self) -> bool:
        return self.type == "wrapped_token"


@dataclass(frozen=True)
class Decision:
    """The PDP's answer, or a fail-closed DENY the SDK made up because no valid answer arrived.

    `failure` is set (and `outcome` is DENY) when the SDK could not get a valid answer: a transport
    error, a timeout, a non-200 answer or a malformed body. `reasons` then start with `pdp_unavailable`,
    `pdp_refused` or `pdp_malformed_answer`.
    """

    outcome: Outcome
    reasons: tuple[str, ...]
    obligations: tuple[str, ...] = ()
    decision_id: str | None = None
    credential: Credential | None = None
    approval_id: str | None = None
    approval_status: str | None = None
    policy_revision: str | None = None
    failure: str | None = None

    @property
    def permitted(self) -> bool:
        """True only for ALLOW and CONSTRAIN: the only outcomes under which a call may go on."""
        return self.outcome in (Outcome.ALLOW, Outcome.CONSTRAIN)

    @staticmethod
    def fail_closed(reason: str, failure: str, decision_id: str | None = None) -> Decision:
        return Decision(outcome=Outcome.DENY, reasons=(reason,), decision_id=decision_id, failure=failure)


@dataclass(frozen=True)
class Approval:
    """An approval request; `status` is None (and `failure` set) when it could not be read."""

    id: str
    status: str | None
    retry_decision: bool = False
    expires_at: str | None = None
    failure: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def approved(self) -> bool:
        return self.status == "APPROVED" and self.retry_decision

    @property
    def pending(self) -> bool:
        return self.status == "PENDING"


@dataclass(frozen=True)
class ToolCall:
    """One attempt of an agent's tool call, as the enforcement point asks the PDP about it."""

    tenant: str
    agent_id: str
    task_id: str
    intent: str
    tool: str
    action: str
    target_system: str
    target_resource: str
    data_classification: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    # The PDP derives the chain depth from parent_decision_id; sent only when set, and then it must match.
    chain_depth: int | None = None
    parent_decision_id: str | None = None
    workload_identity_token: str | None = field(default=None, repr=False)
    approval_id: str | None = None
    held_credential_decision_id: str | None = None
    idempotency_key: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ManifestTool:
    """A tool an agent may use, with its registry facts (GET /v1/registry/enforcement-points/self)."""

    name: str
    target_system: str
    action_kinds: tuple[str, ...]
    risk_tier: str
    read_only: bool
    destructive: bool
    version: int
    argument_schema: Mapping[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AgentManifest:
    """One agent bound to the calling enforcement point: its registered allowed tools by name, and the allowed
    tool names the registry does not know (every call naming one is DENY `unknown_tool`)."""

    agent_id: str
    enabled: bool
    tools: Mapping[str, ManifestTool]
    unregistered_tools: tuple[str, ...] = ()
