"""The LangChain adapter against the real PDP, without a language model: the wrapped tools are invoked as an
agent runtime would invoke them."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import httpx
import pytest

pytest.importorskip("langchain_core", reason="the langchain extra (make deps installs it with clients/python[test])")
from langchain_core.tools import InjectedToolArg, tool  # noqa: E402

from agent_pdp import FileSvidSource, PdpClient  # noqa: E402
from agent_pdp.adapters.langchain import ToolBinding, guard_tool  # noqa: E402

pytestmark = pytest.mark.integration


def test_a_langchain_tool_runs_only_on_allow_gets_the_credential_and_waits_for_an_approval(pdp, tmp_path) -> None:
    agent_id = f"agent-lc-{time.time_ns()}"
    # The agent's real JWT-SVID from the stack's SPIRE, as spiffe-helper would write it.
    svid_file = tmp_path / "jwt-svid"
    svid_file.write_text(pdp.svid() + "\n")
    svid = FileSvidSource(svid_file)
    pdp.seed_agent(agent_id, owner="owner-1", tools=["crm.contacts.read", "crm.contacts.delete"], home_systems=["crm"])
    ran: list[tuple[str, str, str | None]] = []

    @tool
    def read_contact(contact_id: str, token: Annotated[str | None, InjectedToolArg] = None) -> str:
        """Read a contact."""
        ran.append(("read", contact_id, token))
        return f"contact {contact_id} (token {token})"

    @tool
    def delete_contact(contact_id: str) -> str:
        """Delete a contact."""
        ran.append(("delete", contact_id, None))
        return f"contact {contact_id} deleted"

    def binding(registry_tool: str, action: str, **extra: Any) -> ToolBinding:
        return ToolBinding(tenant=pdp.tenant, agent_id=agent_id, task_id=f"task-{agent_id}", intent="help a customer",
                           registry_tool=registry_tool, action=action, target_system="crm",
                           resource_template="contacts/{contact_id}", **extra)

    with PdpClient(pdp.url, pdp.mint("lc-runtime", "decide")) as client:
        read = guard_tool(read_contact, client, binding("crm.contacts.read", "read", vault_addr=pdp.vault_url,
                                                        credential_argument="token"), svid=svid)
        delete = guard_tool(delete_contact, client, binding("crm.contacts.delete", "delete"), svid=svid)
        # The model's view of the tool has no credential argument.
        assert "token" not in json.dumps(read.tool_call_schema.model_json_schema())

        answer = read.invoke({"contact_id": "7", "token": "forged-by-the-caller"})
        [(_, contact, token)] = ran
        assert contact == "7" and token and token != "forged-by-the-caller"
        assert token not in answer and "[credential withheld]" in answer
        lookup = httpx.get(f"{pdp.vault_url}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token}, timeout=5)
        assert lookup.status_code == 200, lookup.text

        first = delete.invoke({"contact_id": "9"})
        again = delete.invoke({"contact_id": "9"})
        assert first.startswith("Approval required") and len(ran) == 1
        approval_id = first.split("approval request ")[1].split(":")[0]
        assert approval_id in again  # the retry carries the same key: the same approval, no second one
        with PdpClient(pdp.url, pdp.mint("approver-1", "approver")) as approver:
            approver.approve(approval_id, "ok")
        assert delete.invoke({"contact_id": "9"}) == "contact 9 deleted"
        # The approval was spent once: the same call again needs a new one and does not run.
        replay = delete.invoke({"contact_id": "9"})
        assert replay.startswith("Approval required") and approval_id not in replay
        assert [r[0] for r in ran] == ["read", "delete"]

    with PdpClient(f"http://127.0.0.1:1", "t", timeout=1) as down:
        denied = guard_tool(read_contact, down, binding("crm.contacts.read", "read")).invoke({"contact_id": "7"})
    assert "pdp_unavailable" in denied and len(ran) == 2
