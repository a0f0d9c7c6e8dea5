"""LangChain adapter (the `langchain` extra): a tool wrapper that asks the PDP before the wrapped tool runs.

`guard_tool(tool, pdp, binding)` returns a LangChain tool with the same name, description and argument schema.
Each invocation is decided first (`PdpClient.decide`, fail-closed): only ALLOW/CONSTRAIN runs the wrapped tool;
DENY, STEP_UP and any PDP failure raise `ToolException`, which the returned tool hands to the model as the tool's
result (`handle_tool_error`), with the reasons, the decision id and, for STEP_UP, the approval id. A retried
invocation with the same arguments carries the same idempotency key (so it gets the same approval back), and
after approval it is decided with that approval, which the PDP spends once. The credential of an ALLOW goes to
the wrapped tool only (the keyword argument `binding.credential_argument`, an `InjectedToolArg` of the wrapped
tool), never into the model's view: it is not in the model's tool schema and any occurrence in the tool's result
is replaced. Tested without a language model (tests/integration/test_langchain.py, against the real PDP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException

from ..client import PdpClient
from ..credentials import CredentialError, unwrap
from ..guard.config import TargetError, derive_resource
from ..model import Decision, Outcome, ToolCall
from ..request import call_digest, idempotency_key
from ..svid import NoSvid, SvidSource


@dataclass(frozen=True)
class ToolBinding:
    """How a LangChain tool's call is described to the PDP: the agent, the registry tool, the action kind and
    the target (its resource filled from the call's arguments, one plain path segment per placeholder)."""

    tenant: str
    agent_id: str
    task_id: str
    intent: str
    registry_tool: str
    action: str
    target_system: str
    resource_template: str
    classification: str = "internal"
    vault_addr: str | None = None  # to unwrap a wrapped credential
    credential_argument: str | None = None  # the wrapped tool's keyword that receives the credential


def _refusal(decision: Decision, approval_id: str | None = None) -> ToolException:
    what = "Approval required" if decision.outcome is Outcome.STEP_UP else "Denied by the policy decision point"
    detail = f"{what}: {', '.join(decision.reasons)} (decision {decision.decision_id})"
    if approval_id:
        detail += f"; approval request {approval_id}: repeat exactly the same call once it is approved"
    return ToolException(detail + ".")


def guard_tool(tool: BaseTool, pdp: PdpClient, binding: ToolBinding, *, svid: SvidSource | None = None) -> BaseTool:
    identity = svid or NoSvid()
    approvals: dict[str, str] = {}  # idempotency key -> approval id of a STEP_UP this tool got

    def run(**arguments: Any) -> Any:
        if binding.credential_argument:
            # Injected by this wrapper only (declare it `Annotated[str | None, InjectedToolArg] = None` in the
            # wrapped tool, so the model's schema lacks it); whatever a caller put there is neither decided on
            # nor passed on.
            arguments.pop(binding.credential_argument, None)
        try:
            resource = derive_resource(binding.resource_template, arguments)
        except TargetError as error:
            raise ToolException(f"Denied: {error} (target_not_derivable).") from None
        key = idempotency_key(binding.task_id, call_digest(binding.registry_tool, arguments))
        try:
            workload_token = identity.jwt_svid()
        except Exception:  # noqa: BLE001 - no identity is sent; policy decides what that means
            workload_token = None
        decision = pdp.decide(ToolCall(
            tenant=binding.tenant, agent_id=binding.agent_id, task_id=binding.task_id, intent=binding.intent,
            tool=binding.registry_tool, action=binding.action, target_system=binding.target_system,
            target_resource=resource, data_classification=binding.classification, arguments=dict(arguments),
            workload_identity_token=workload_token, idempotency_key=key, approval_id=approvals.get(key)))
        if decision.outcome is Outcome.STEP_UP and decision.approval_id:
            approvals[key] = decision.approval_id
            raise _refusal(decision, decision.approval_id)
        if not decision.permitted:
            if "approval_pending" not in decision.reasons:
                approvals.pop(key, None)  # spent, denied or expired: a later identical call asks again
            raise _refusal(decision, approvals.get(key))
        approvals.pop(key, None)
        secret = None
        inner_arguments: Mapping[str, Any] = arguments
        if binding.credential_argument and decision.credential is not None and decision.credential.type != "reuse":
            try:
                secret = str(_usable(decision, binding.vault_addr))
            except CredentialError as error:
                raise ToolException(f"Denied: the credential could not be used ({error}).") from None
            inner_arguments = {**arguments, binding.credential_argument: secret}
        result = tool.invoke(dict(inner_arguments))
        if secret and isinstance(result, str):
            result = result.replace(secret, "[credential withheld]")
        return result

    return StructuredTool.from_function(func=run, name=tool.name, description=tool.description,
                                        args_schema=tool.args_schema, handle_tool_error=True)


def _usable(decision: Decision, vault_addr: str | None) -> str:
    credential = decision.credential
    assert credential is not None
    if credential.type == "token" and credential.token:
        return credential.token
    if not vault_addr or not credential.token:
        raise CredentialError("a wrapped credential needs the OpenBao/Vault address to unwrap it")
    return unwrap(vault_addr, credential.token)
