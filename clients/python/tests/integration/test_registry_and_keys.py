"""The guard's manifest from the PDP's registry, and idempotency keys, against the real PDP (and a real MCP client,
guard and FastMCP upstream)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from mcp import Client

from agent_pdp import Outcome, PdpClient, ToolCall, idempotency_key

from .conftest import TOOLS

pytestmark = pytest.mark.integration
MAPPED = [tool for tool in TOOLS if tool["registry_tool"] != "crm.contacts.export"]


def structured(result: Any) -> dict[str, Any]:
    return dict(result.structured_content or {})


async def test_the_guard_lists_what_the_registry_allows_and_follows_its_changes(start_guard, upstream, pdp) -> None:
    guard = start_guard(manifest_source="registry", tools=MAPPED)
    async with Client(guard.url) as client:
        before = sorted(t.name for t in (await client.list_tools()).tools)
        read = await client.call_tool("read_contact", {"contact_id": "21"})
    assert before == ["delete_contact", "read_contact", "update_contact"]
    assert not read.is_error

    # The operator takes update away in the registry; the guard's next listing (after its refresh) follows.
    admin = {"Authorization": f"Bearer {pdp.mint('sdk-seeder', 'registry-admin')}"}
    entry = httpx.get(f"{pdp.url}/v1/registry/agents/{guard.agent_id}", headers=admin, timeout=10)
    body = {key: value for key, value in entry.json().items() if key not in ("version", "updated_at", "updated_by")}
    body["allowed_tools"] = ["crm.contacts.read", "crm.contacts.delete"]
    replaced = httpx.put(f"{pdp.url}/v1/registry/agents/{guard.agent_id}", json=body, timeout=10,
                         headers={**admin, "If-Match": entry.headers["ETag"]})
    assert replaced.status_code == 200, replaced.text
    time.sleep(1.2)
    async with Client(guard.url) as client:
        after = sorted(t.name for t in (await client.list_tools()).tools)
        update = await client.call_tool("update_contact", {"contact_id": "21"})
    assert after == ["delete_contact", "read_contact"]
    # Listing is a convenience: the call itself is still decided, and denied by the PDP.
    assert update.is_error and structured(update)["outcome"] == "DENY"
    assert [c["tool"] for c in upstream.calls()] == ["read_contact"]


def test_the_guard_refuses_to_start_with_a_mapping_the_registry_does_not_allow(start_guard) -> None:
    refused = start_guard(manifest_source="registry", expect_refusal=True)  # maps export_contacts, not allowed
    assert refused.returncode == 2
    assert "crm.contacts.export" in refused.log.read_text()


def test_the_guard_refuses_to_start_for_an_agent_not_bound_to_it(start_guard) -> None:
    refused = start_guard(manifest_source="registry", tools=MAPPED, bind=False, expect_refusal=True)
    assert refused.returncode == 2
    assert "404" in refused.log.read_text()


def test_an_enforcement_point_does_not_see_another_enforcement_points_agent(pdp) -> None:
    mine, theirs = f"agent-m-{time.time_ns()}", f"agent-t-{time.time_ns()}"
    for agent in (mine, theirs):
        pdp.seed_agent(agent, owner="owner-1", tools=["crm.contacts.read"], home_systems=["crm"])
    pdp.bind_enforcement_point(f"ep-{mine}", [mine])
    pdp.bind_enforcement_point(f"ep-{theirs}", [theirs])
    with PdpClient(pdp.url, pdp.mint(f"ep-{mine}", "decide")) as client:
        assert set(client.manifest(mine).tools) == {"crm.contacts.read"}
        from agent_pdp import PdpError

        with pytest.raises(PdpError, match="not bound"):
            client.manifest(theirs)


def test_a_retried_step_up_reuses_its_approval_and_the_key_cannot_fetch_another_actions(pdp) -> None:
    agent_id = f"agent-key-{time.time_ns()}"
    pdp.seed_agent(agent_id, owner="owner-1", tools=["crm.contacts.delete"], home_systems=["crm"])
    key = idempotency_key("run-key", "call-1", 1)
    call = ToolCall(tenant=pdp.tenant, agent_id=agent_id, task_id="task-key", intent="clean up",
                    tool="crm.contacts.delete", action="delete", target_system="crm", target_resource="contacts/5",
                    data_classification="internal", arguments={"contact_id": "5"}, idempotency_key=key,
                    workload_identity_token=pdp.svid())
    other = ToolCall(**{**call.__dict__, "target_resource": "contacts/6", "arguments": {"contact_id": "6"}})
    with PdpClient(pdp.url, pdp.mint("sdk-caller", "decide")) as client:
        first = client.decide(call)
        retried = client.decide(call)
        lied = client.decide(other)
        fresh_key = client.decide(ToolCall(**{**other.__dict__, "idempotency_key": idempotency_key("run-key", "call-2")}))
    assert first.outcome is Outcome.STEP_UP and retried.outcome is Outcome.STEP_UP
    assert retried.approval_id == first.approval_id
    assert lied.outcome is Outcome.DENY and lied.reasons == ("idempotency_key_reused",) and lied.approval_id is None
    assert fresh_key.outcome is Outcome.STEP_UP and fresh_key.approval_id != first.approval_id


async def test_a_tool_call_id_reused_for_other_arguments_is_denied_and_runs_nothing(start_guard, upstream) -> None:
    guard = start_guard()
    meta = {"agent-pdp/tool_call_id": "call-9"}
    async with Client(guard.url) as client:
        first = await client.call_tool("delete_contact", {"contact_id": "80"}, meta=meta)
        reused = await client.call_tool("delete_contact", {"contact_id": "81"}, meta=meta)
        again = await client.call_tool("delete_contact", {"contact_id": "80"}, meta=meta)
    assert structured(first)["outcome"] == "STEP_UP"
    assert structured(reused)["outcome"] == "DENY", structured(reused)
    assert structured(reused)["reasons"] == ["idempotency_key_reused"]
    assert structured(again)["approval_id"] == structured(first)["approval_id"]
    assert upstream.calls() == []
