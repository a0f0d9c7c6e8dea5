"""A real MCP client -> agent-pdp-guard -> real FastMCP upstream, every call decided by the real PDP."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import httpx
import pytest
from mcp import Client

from agent_pdp import PdpClient, ToolCall

pytestmark = pytest.mark.integration


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def structured(result: Any) -> dict[str, Any]:
    return dict(result.structured_content or {})


async def test_read_is_allowed_executed_and_pii_free_of_credentials(start_guard, upstream, pdp) -> None:
    guard = start_guard()
    async with Client(guard.url) as client:
        result = await client.call_tool("read_contact", {"contact_id": "42"})
    assert not result.is_error, text_of(result)
    assert "contact 42" in text_of(result)
    calls = upstream.calls()
    assert [c["tool"] for c in calls] == ["read_contact"]
    assert calls[0]["arguments"] == {"contact_id": "42"}


async def test_tools_list_shows_only_manifest_tools(start_guard) -> None:
    guard = start_guard()
    async with Client(guard.url) as client:
        listing = await client.list_tools()
    assert sorted(t.name for t in listing.tools) == ["delete_contact", "read_contact", "update_contact"]


async def test_tool_outside_the_manifest_is_denied_by_the_pdp_and_the_upstream_sees_nothing(
        start_guard, upstream) -> None:
    guard = start_guard()
    async with Client(guard.url) as client:
        result = await client.call_tool("export_contacts", {"segment": "all"})
        unconfigured = await client.call_tool("drop_database", {})
    assert result.is_error
    body = structured(result)
    assert body["outcome"] == "DENY" and body["decision_id"], body
    assert unconfigured.is_error and structured(unconfigured)["reasons"] == ["tool_not_configured"]
    assert upstream.calls() == []


async def test_target_argument_that_leaves_its_path_segment_is_denied(start_guard, upstream) -> None:
    # The lie: an id that walks out of contacts/ (e.g. into a more sensitive prefix) must not reach the PDP
    # as a different resource than the template names.
    guard = start_guard()
    async with Client(guard.url) as client:
        result = await client.call_tool("read_contact", {"contact_id": "../vip/7"})
    assert result.is_error and structured(result)["reasons"] == ["target_not_derivable"]
    assert upstream.calls() == []


async def test_delete_steps_up_then_runs_exactly_once_after_approval_and_a_replay_is_denied(
        start_guard, upstream, pdp) -> None:
    guard = start_guard()
    arguments = {"contact_id": "77"}
    async with Client(guard.url) as client:
        first = await client.call_tool("delete_contact", arguments)
        assert first.is_error
        step_up = structured(first)
        assert step_up["outcome"] == "STEP_UP", step_up
        approval_id = step_up["approval_id"]
        assert approval_id in step_up["approve_url"]
        assert upstream.calls() == []

        # The same call again while pending: the same approval, no second one, nothing executed.
        again = await client.call_tool("delete_contact", arguments)
        assert again.is_error and structured(again)["approval_id"] == approval_id
        assert upstream.calls() == []

        with PdpClient(pdp.url, pdp.mint("approver-1", "approver")) as approver:
            approved = approver.approve(approval_id, "checked with the customer")
            assert approved.status == "APPROVED"
        with PdpClient(pdp.url, pdp.mint("mcp-guard", "decide")) as reader:
            assert reader.wait_for_approval(approval_id, timeout=5).approved

        retried = await client.call_tool("delete_contact", arguments)
        assert not retried.is_error, text_of(retried)
        assert "contact 77 deleted" in text_of(retried)

        replay = await client.call_tool("delete_contact", arguments)
        assert replay.is_error
        assert structured(replay)["outcome"] == "DENY"
        assert "approval_consumed" in structured(replay)["reasons"], structured(replay)
    assert [c["tool"] for c in upstream.calls()] == ["delete_contact"]


async def test_quarantine_mid_session_denies_the_next_call(start_guard, upstream, pdp) -> None:
    guard = start_guard()
    async with Client(guard.url) as client:
        first = await client.call_tool("read_contact", {"contact_id": "1"})
        assert not first.is_error, text_of(first)
        with PdpClient(pdp.url, pdp.mint("secops", "security-admin")) as admin:
            admin.quarantine(guard.agent_id, "suspicious tool use")
        second = await client.call_tool("read_contact", {"contact_id": "2"})
    assert second.is_error
    assert structured(second)["outcome"] == "DENY"
    assert "quarantined" in structured(second)["reasons"], structured(second)
    assert [c["arguments"]["contact_id"] for c in upstream.calls()] == ["1"]


async def test_pdp_unreachable_means_deny_and_no_upstream_call(start_guard, upstream) -> None:
    from .conftest import free_port

    guard = start_guard(pdp_url=f"http://127.0.0.1:{free_port()}")
    async with Client(guard.url) as client:
        result = await client.call_tool("read_contact", {"contact_id": "42"})
    assert result.is_error
    assert structured(result)["outcome"] == "DENY"
    assert structured(result)["reasons"] == ["pdp_unavailable"]
    assert upstream.calls() == []


@pytest.mark.parametrize("credential", [{"header": "Authorization", "scheme": "Bearer"}, {"header": "X-Vault-Token"}])
async def test_upstream_gets_a_working_openbao_token_the_model_never_sees(
        start_guard, upstream, pdp, credential) -> None:
    guard = start_guard(credential=credential)
    async with Client(guard.url) as client:
        result = await client.call_tool("read_contact", {"contact_id": "5"})
    assert not result.is_error, text_of(result)
    [call] = upstream.calls()
    if credential["header"] == "Authorization":
        assert call["authorization"].startswith("Bearer ")
        token = call["authorization"].removeprefix("Bearer ")
    else:
        token = call["x_vault_token"]
    lookup = httpx.get(f"{pdp.vault_url}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token}, timeout=5)
    assert lookup.status_code == 200, lookup.text
    assert lookup.json()["data"]["policies"]
    visible = json.dumps(result.model_dump(mode="json", by_alias=True))
    assert token not in visible
    assert "hvs." not in visible and "s." + token[-8:] not in visible


async def test_mismatched_mcp_name_header_is_rejected_and_nothing_runs(start_guard, upstream) -> None:
    guard = start_guard()
    async with Client(guard.url) as client:
        version = client.protocol_version
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "delete_contact", "arguments": {"contact_id": "9"},
                       "_meta": {"io.modelcontextprotocol/protocolVersion": version,
                                 "io.modelcontextprotocol/clientCapabilities": {}}}}
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": version, "Mcp-Method": "tools/call", "Mcp-Name": "read_contact"}
    answer = httpx.post(guard.url, json=body, headers=headers, timeout=10)
    assert "does not match" in answer.text, answer.text
    assert upstream.calls() == []


async def test_constrained_confidential_read_is_forwarded_with_pii_redacted(start_guard, upstream, pdp) -> None:
    prefix = f"confidential-{pdp.tenant}/"
    pdp.seed_classification("crm", prefix, "confidential")
    tool = {"name": "read_confidential_contact", "upstream": "crm", "upstream_tool": "read_contact",
            "registry_tool": "crm.contacts.read", "action": "read",
            "target": {"system": "crm", "resource": prefix + "{contact_id}"}, "classification": "internal"}
    guard = start_guard(extra_tools=[tool])
    async with Client(guard.url) as client:
        result = await client.call_tool("read_confidential_contact", {"contact_id": "8"})
    assert not result.is_error, text_of(result)
    decision = (result.meta or {})["agent-pdp/decision"]
    assert decision["outcome"] == "CONSTRAIN" and "redact_pii" in decision["obligations"], decision
    visible = text_of(result) + json.dumps(result.structured_content)
    assert "contact 8" in visible
    assert "jane.roe@example.com" not in visible and "555 123 4567" not in visible
    assert [c["tool"] for c in upstream.calls()] == ["read_contact"]


async def test_stdio_upstream_gets_the_credential_in_its_environment(start_guard, upstream, pdp, work) -> None:
    import sys

    from .conftest import UPSTREAM

    record = work / "stdio-calls.jsonl"
    guard = start_guard(crm_upstream={"transport": "stdio", "command": sys.executable,
                                      "args": [str(UPSTREAM), "stdio"], "env": {"UPSTREAM_RECORD": str(record)},
                                      "credential": {"env": "UPSTREAM_TOKEN"}})
    async with Client(guard.url) as client:
        result = await client.call_tool("read_contact", {"contact_id": "3"})
    assert not result.is_error, text_of(result)
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert [c["tool"] for c in calls] == ["read_contact"]
    token = calls[0]["env_token"]
    lookup = httpx.get(f"{pdp.vault_url}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token}, timeout=5)
    assert lookup.status_code == 200, lookup.text
    assert token not in json.dumps(result.model_dump(mode="json", by_alias=True))


def test_sdk_decides_against_the_real_pdp_and_unwraps_with_hvac(pdp) -> None:
    from agent_pdp import Outcome, idempotency_key, unwrap_with_hvac

    agent_id = f"agent-sdk-{uuid.uuid4().hex[:8]}"
    pdp.seed_agent(agent_id, owner="owner-1", tools=["crm.contacts.read"], home_systems=["crm"])
    call = ToolCall(tenant=pdp.tenant, agent_id=agent_id, task_id="task-sdk", intent="help a customer",
                    tool="crm.contacts.read", action="read", target_system="crm", target_resource="contacts/1",
                    data_classification="internal", arguments={"contact_id": "1"},
                    idempotency_key=idempotency_key("run-sdk", "call-1"), workload_identity_token=pdp.svid())
    with PdpClient(pdp.url, pdp.mint("sdk-caller", "decide")) as client:
        decision = client.decide(call)
        assert decision.outcome is Outcome.ALLOW, decision
        assert decision.credential is not None and decision.credential.wrapped
        token = unwrap_with_hvac(pdp.vault_url, decision.credential.token or "")
        lookup = httpx.get(f"{pdp.vault_url}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token}, timeout=5)
        assert lookup.status_code == 200
        # A tool the agent was never given is DENY; a bearer the PDP does not trust is DENY, not an exception.
        assert client.decide(replace(call, tool="crm.contacts.export")).outcome is Outcome.DENY
    with PdpClient(pdp.url, "not-a-jwt") as stranger:
        refused = stranger.decide(call)
        assert refused.outcome is Outcome.DENY and refused.reasons == ("pdp_refused", "http_401")


async def test_step_up_asks_an_elicitation_capable_client_by_url_and_runs_once_after_approval(
        start_guard, upstream, pdp) -> None:
    import mcp_types as types

    guard = start_guard()
    asked: list[str] = []

    async def approve_when_asked(context: Any, params: Any) -> types.ElicitResult:
        # The user opens the URL; here the approver approves through the API, then the user confirms.
        assert params.mode == "url"
        approval_id = params.url.rstrip("/").split("/")[-2]
        asked.append(approval_id)
        assert upstream.calls() == []
        with PdpClient(pdp.url, pdp.mint("approver-1", "approver")) as approver:
            approver.approve(approval_id, "approved from the elicitation link")
        return types.ElicitResult(action="accept")

    async with Client(guard.url, elicitation_callback=approve_when_asked) as client:
        result = await client.call_tool("delete_contact", {"contact_id": "55"})
    assert not result.is_error, text_of(result)
    assert "contact 55 deleted" in text_of(result)
    assert len(asked) == 1
    assert [c["tool"] for c in upstream.calls()] == ["delete_contact"]


async def test_declined_elicitation_runs_nothing(start_guard, upstream) -> None:
    import mcp_types as types

    guard = start_guard()

    async def decline(context: Any, params: Any) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    async with Client(guard.url, elicitation_callback=decline) as client:
        result = await client.call_tool("delete_contact", {"contact_id": "56"})
    assert result.is_error and structured(result)["reasons"] == ["approval_not_confirmed"]
    assert upstream.calls() == []


async def test_pdp_that_accepts_but_never_answers_times_out_into_deny(start_guard, upstream) -> None:
    # A stopped process in the path: it holds a listening socket (the kernel completes the handshake)
    # but, stopped with SIGSTOP, never answers.
    import signal
    import subprocess
    import sys

    from .conftest import free_port

    port = free_port()
    silent = subprocess.Popen([sys.executable, "-c", "import socket, time\n"
                               f"s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(16)\n"
                               "print('up', flush=True)\ntime.sleep(3600)"], stdout=subprocess.PIPE)
    try:
        assert silent.stdout is not None and silent.stdout.readline() == b"up\n"
        silent.send_signal(signal.SIGSTOP)
        guard = start_guard(pdp_url=f"http://127.0.0.1:{port}", pdp_timeout=1)
        async with Client(guard.url) as client:
            result = await client.call_tool("read_contact", {"contact_id": "42"})
        assert result.is_error
        assert structured(result)["outcome"] == "DENY" and structured(result)["reasons"] == ["pdp_unavailable"]
        assert upstream.calls() == []
    finally:
        silent.send_signal(signal.SIGCONT)
        silent.kill()
        silent.wait(10)


async def test_the_svid_from_a_file_reaches_the_pdp_as_workload_identity(start_guard, upstream, work) -> None:
    # A direct secret read is CONSTRAIN with the agent's real JWT-SVID (from the stack's SPIRE), DENY
    # (workload_identity_invalid) with a forged one and DENY (workload_identity_required) without one, so the
    # outcome shows whether the guard sent the SVID and that the PDP verified it.
    secret_tool = {"name": "read_api_key", "upstream": "crm", "upstream_tool": "read_contact",
                   "registry_tool": "crm.secrets.read", "action": "secret_read",
                   "target": {"system": "crm", "resource": "secrets/{contact_id}"}, "classification": "internal"}
    manifest = ["crm.contacts.read", "crm.secrets.read"]
    forged = work / "forged-jwt-svid"
    forged.write_text("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzcGlmZmU6Ly9leGFtcGxlLm9yZy9hZ2VudCJ9.c2ln\n")
    with_svid = start_guard(extra_tools=[secret_tool], manifest=manifest)
    with_forged = start_guard(extra_tools=[secret_tool], manifest=manifest, svid_file=forged)
    without_svid = start_guard(extra_tools=[secret_tool], manifest=manifest, with_svid=False)
    async with Client(with_svid.url) as client:
        allowed = await client.call_tool("read_api_key", {"contact_id": "k1"})
    async with Client(with_forged.url) as client:
        forged_answer = await client.call_tool("read_api_key", {"contact_id": "k1"})
    async with Client(without_svid.url) as client:
        missing = await client.call_tool("read_api_key", {"contact_id": "k1"})
    assert not allowed.is_error, text_of(allowed)
    assert (allowed.meta or {})["agent-pdp/decision"]["outcome"] == "CONSTRAIN"
    assert forged_answer.is_error and structured(forged_answer)["outcome"] == "DENY"
    assert "workload_identity_invalid" in structured(forged_answer)["reasons"], structured(forged_answer)
    assert missing.is_error and structured(missing)["outcome"] == "DENY"
    assert structured(missing)["reasons"] == ["workload_identity_required"], structured(missing)
    assert len(upstream.calls()) == 1


async def test_a_handshake_era_client_is_guarded_too(start_guard, upstream) -> None:
    guard = start_guard()
    async with Client(guard.url, mode="legacy") as client:
        assert client.protocol_version not in ("2026-07-28",)
        read = await client.call_tool("read_contact", {"contact_id": "11"})
        delete = await client.call_tool("delete_contact", {"contact_id": "11"})
    assert not read.is_error, text_of(read)
    assert delete.is_error and structured(delete)["outcome"] == "STEP_UP"
    assert [c["tool"] for c in upstream.calls()] == ["read_contact"]


async def test_the_guard_over_stdio_decides_too(start_guard, upstream) -> None:
    import sys
    from pathlib import Path

    from mcp import StdioServerParameters

    guard = start_guard()  # seeds the agent and writes the config; this test runs a second guard on stdio
    params = StdioServerParameters(command=str(Path(sys.executable).parent / "agent-pdp-guard"),
                                   args=["--config", str(guard.config_file)])
    async with Client(params) as client:
        read = await client.call_tool("read_contact", {"contact_id": "12"})
        unknown = await client.call_tool("export_contacts", {"segment": "all"})
    assert not read.is_error, text_of(read)
    assert unknown.is_error and structured(unknown)["outcome"] == "DENY"
    assert [c["tool"] for c in upstream.calls()] == ["read_contact"]
