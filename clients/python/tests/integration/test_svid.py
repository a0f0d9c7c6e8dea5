"""JWT-SVIDs from a real SPIRE agent's Workload API (the stack's SPIRE, issue 14): the SDK's WorkloadApiSvidSource
and the guard's `svid.workload_api`. Skipped when the stack runs no SPIRE agent (no PDP_SPIFFE_SOCKET in its env)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from mcp import Client

from agent_pdp import WorkloadApiSvidSource

SOCKET = os.environ.get("PDP_SPIFFE_SOCKET")
pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not SOCKET, reason="needs a SPIRE agent: the stack's env has no PDP_SPIFFE_SOCKET "
                                                    "(SPIRE in scripts/stack/start.sh, issue 14)")]
AUDIENCE = os.environ.get("PDP_IDENTITY_AUDIENCE", "agent-pdp")


def workload_ids() -> list[str]:
    ids = os.environ.get("PDP_SPIFFE_IDS", "").split(",")
    tests = [i for i in ids if "/tests/" in i]
    assert len(tests) >= 2, f"the stack registers two test workloads, got {ids}"
    return tests


def endpoint() -> str:
    return f"unix://{SOCKET}"


def test_the_workload_api_source_fetches_a_jwt_svid_for_the_pdps_audience_that_spire_validates() -> None:
    from spiffe import WorkloadApiClient

    first, second = workload_ids()[:2]
    mine = WorkloadApiSvidSource(AUDIENCE, endpoint(), spiffe_id=first)
    theirs = WorkloadApiSvidSource(AUDIENCE, endpoint(), spiffe_id=second)
    try:
        token, other = mine.jwt_svid(), theirs.jwt_svid()
    finally:
        mine.close()
        theirs.close()
    assert token and token.count(".") == 2
    with WorkloadApiClient(endpoint()) as spire:
        svid = spire.validate_jwt_svid(token, AUDIENCE)
        assert str(svid.spiffe_id) == first and AUDIENCE in svid.audience
        assert str(spire.validate_jwt_svid(other, AUDIENCE).spiffe_id) == second
        # Not a token for anyone else's audience.
        with pytest.raises(Exception):
            spire.validate_jwt_svid(token, "someone-else")


async def test_the_guard_sends_the_spire_svid_as_the_agents_workload_identity(start_guard, upstream) -> None:
    first = workload_ids()[0]
    secret_tool: dict[str, Any] = {"name": "read_api_key", "upstream": "crm", "upstream_tool": "read_contact",
                                   "registry_tool": "crm.secrets.read", "action": "secret_read",
                                   "target": {"system": "crm", "resource": "secrets/{contact_id}"},
                                   "classification": "internal"}
    guard = start_guard(extra_tools=[secret_tool], manifest=["crm.contacts.read", "crm.secrets.read"],
                        svid={"workload_api": {"audience": AUDIENCE, "socket": endpoint(), "spiffe_id": first}},
                        spiffe_ids=[first])
    async with Client(guard.url) as client:
        result = await client.call_tool("read_api_key", {"contact_id": "k2"})
    # A direct secret read is DENY (workload_identity_required) without an identity, CONSTRAIN with one.
    assert not result.is_error, result.content
    assert (result.meta or {})["agent-pdp/decision"]["outcome"] == "CONSTRAIN"
    assert [c["tool"] for c in upstream.calls()] == ["read_contact"]
