"""Building the decide request body and the idempotency key (pure functions, no I/O)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from .model import ToolCall

# The call's arguments are DecisionRequest.arguments (bound by approvals, checked against the tool's schema); the
# attempt's key is DecisionRequest.idempotency_key (names the approval a STEP_UP opens; see openapi.yaml).

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace: equal arguments give equal text, whatever order they came in."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def idempotency_key(run_id: str, tool_call_id: str, attempt: int = 1) -> str:
    """`run_id:tool_call_id:attempt`, one per tool-call attempt, so that a retried request (same key)
    is recognisable and opens no second approval. Parts that are no plain identifier are hashed so the
    key always satisfies the API's identifier pattern (at most 128 characters)."""
    if attempt < 1:
        raise ValueError("attempt starts at 1")
    key = f"{run_id}:{tool_call_id}:{attempt}"
    if _IDENTIFIER.match(key):
        return key
    digest = hashlib.sha256(f"{run_id}\0{tool_call_id}".encode()).hexdigest()[:40]
    return f"k-{digest}:{attempt}"


def call_digest(tool: str, arguments: Mapping[str, Any]) -> str:
    """A stable id for "this tool with these arguments" when the caller has no tool-call id."""
    return hashlib.sha256(f"{tool}\0{canonical_json(dict(arguments))}".encode()).hexdigest()[:32]


def build_decision_request(call: ToolCall) -> dict[str, Any]:
    """The JSON body of POST /v1/decisions for one tool call attempt."""
    task: dict[str, Any] = {"id": call.task_id, "intent": call.intent}
    if call.chain_depth is not None:
        task["chain_depth"] = call.chain_depth
    if call.parent_decision_id:
        task["parent_decision_id"] = call.parent_decision_id
    agent: dict[str, Any] = {"id": call.agent_id}
    if call.workload_identity_token:
        agent["workload_identity_token"] = call.workload_identity_token
    body: dict[str, Any] = {
        "tenant": call.tenant,
        "agent": agent,
        "task": task,
        "tool": call.tool,
        "action": call.action,
        "target": {"system": call.target_system, "resource": call.target_resource},
        "data_classification": call.data_classification,
        "arguments": dict(call.arguments),
    }
    if call.idempotency_key:
        body["idempotency_key"] = call.idempotency_key
    if call.context:
        body["context"] = dict(call.context)
    if call.approval_id:
        body["approval_id"] = call.approval_id
    if call.held_credential_decision_id:
        body["held_credential"] = {"decision_id": call.held_credential_decision_id}
    return body
