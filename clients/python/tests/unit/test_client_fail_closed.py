"""PdpClient / AsyncPdpClient fail closed: every transport error, timeout, refusal or malformed answer is DENY."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from agent_pdp import AsyncPdpClient, Outcome, PdpClient, ToolCall, parse_decision

DECISION_ID = "6f1c1b7e-9d2a-4c1e-8f3a-2b9f0d6c1a11"
APPROVAL_ID = "0b7d7a52-5f0e-4d55-9f3e-1f9d7c2e4a22"
CALL = ToolCall(tenant="t", agent_id="a", task_id="task", intent="i", tool="crm.contacts.read", action="read",
                target_system="crm", target_resource="contacts/1", data_classification="internal",
                arguments={"contact_id": "1"}, idempotency_key="run:call:1")


def answer(status: int, body: object) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)
    return httpx.MockTransport(handler)


def allow(**extra: object) -> dict[str, object]:
    return {"decision_id": DECISION_ID, "outcome": "ALLOW", "reasons": ["low_risk_read"], "obligations": [],
            "policy_revision": "r1", "decided_at": "2026-01-01T00:00:00Z", **extra}


def raising(error: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error
    return httpx.MockTransport(handler)


def test_allow_is_permitted() -> None:
    with PdpClient("http://pdp", "tok", transport=answer(200, allow())) as client:
        decision = client.decide(CALL)
    assert decision.outcome is Outcome.ALLOW and decision.permitted and decision.failure is None


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                                   httpx.RemoteProtocolError("garbage"), RuntimeError("anything")])
def test_transport_errors_and_timeouts_are_deny(error: Exception) -> None:
    with PdpClient("http://pdp", "tok", transport=raising(error)) as client:
        decision = client.decide(CALL)
    assert decision.outcome is Outcome.DENY and not decision.permitted
    assert decision.reasons == ("pdp_unavailable",)


@pytest.mark.parametrize("status", [400, 401, 403, 429, 500, 503])
def test_non_200_answers_are_deny_even_if_the_body_says_allow(status: int) -> None:
    with PdpClient("http://pdp", "tok", transport=answer(status, allow())) as client:
        decision = client.decide(CALL)
    assert decision.outcome is Outcome.DENY and decision.reasons == ("pdp_refused", f"http_{status}")


@pytest.mark.parametrize("body", [
    None, [], "ALLOW", {"outcome": "ALLOW"}, allow(outcome="allow"), allow(outcome="MAYBE"),
    allow(decision_id="not-a-uuid"), allow(reasons="low_risk_read"), allow(obligations=None),
    allow(credential={"type": "wrapped_token"}), allow(credential={"type": "magic", "token": "x"}),
    {**allow(), "outcome": "STEP_UP"}, {**allow(), "outcome": "STEP_UP", "approval": {"id": "nope"}},
])
def test_malformed_answers_are_deny(body: object) -> None:
    with PdpClient("http://pdp", "tok", transport=answer(200, body)) as client:
        decision = client.decide(CALL)
    assert decision.outcome is Outcome.DENY and not decision.permitted
    assert decision.reasons == ("pdp_malformed_answer",)


def test_non_json_body_is_deny() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>ok</html>"))
    with PdpClient("http://pdp", "tok", transport=transport) as client:
        assert client.decide(CALL).reasons == ("pdp_malformed_answer",)


def test_step_up_carries_the_approval_and_is_not_permitted() -> None:
    body = {**allow(), "outcome": "STEP_UP", "reasons": ["high_risk_action"],
            "approval": {"id": APPROVAL_ID, "status": "PENDING"}}
    decision = parse_decision(200, body)
    assert decision.outcome is Outcome.STEP_UP and not decision.permitted
    assert decision.approval_id == APPROVAL_ID


def test_a_credential_on_a_deny_is_dropped() -> None:
    body = {**allow(), "outcome": "DENY", "credential": {"type": "token", "token": "s.secret", "ttl_seconds": 1,
                                                         "num_uses": 1, "policies": ["p"]}}
    assert parse_decision(200, body).credential is None


def test_the_request_carries_arguments_and_the_idempotency_key_top_level() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        assert request.headers["Authorization"] == "Bearer tok"
        return httpx.Response(200, json=allow())

    with PdpClient("http://pdp", lambda: "tok", transport=httpx.MockTransport(handler)) as client:
        client.decide(CALL)
    assert seen[0]["arguments"] == {"contact_id": "1"}
    assert seen[0]["idempotency_key"] == "run:call:1" and "context" not in seen[0]


def test_secrets_never_reach_the_log_or_repr(caplog: pytest.LogCaptureFixture) -> None:
    body = allow(credential={"type": "wrapped_token", "token": "hvs.WRAPPED-SECRET", "ttl_seconds": 300,
                             "num_uses": 10, "policies": ["agent-read"], "expires_at": "2026-01-01T00:05:00Z"})
    caplog.set_level(logging.DEBUG)
    with PdpClient("http://pdp", "BEARER-SECRET", transport=answer(200, body)) as client:
        decision = client.decide(CALL)
    with PdpClient("http://pdp", "BEARER-SECRET", transport=raising(httpx.ConnectError("x"))) as client:
        client.decide(CALL)
    assert decision.credential is not None and decision.credential.token == "hvs.WRAPPED-SECRET"
    assert "WRAPPED-SECRET" not in repr(decision)
    assert "SECRET" not in caplog.text


async def test_async_client_fails_closed_too() -> None:
    async with AsyncPdpClient("http://pdp", "tok", transport=raising(httpx.ConnectTimeout("slow"))) as client:
        decision = await client.decide(CALL)
        approval = await client.get_approval(APPROVAL_ID, wait=1)
    assert decision.outcome is Outcome.DENY and decision.reasons == ("pdp_unavailable",)
    assert approval.status is None and not approval.approved


def test_approval_answers_that_are_not_approved_never_say_approved() -> None:
    for status, body in [(200, {"id": APPROVAL_ID, "status": "APPROVED", "retry_decision": False}),
                         (200, {"id": APPROVAL_ID, "status": "PENDING", "retry_decision": True}),
                         (200, {"id": "other", "status": "APPROVED", "retry_decision": True}),
                         (503, {"id": APPROVAL_ID, "status": "APPROVED", "retry_decision": True})]:
        with PdpClient("http://pdp", "tok", transport=answer(status, body)) as client:
            assert not client.get_approval(APPROVAL_ID).approved, body


def test_wait_for_approval_long_polls_with_a_bounded_wait() -> None:
    waits: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        waits.append(request.url.params.get("wait"))
        status = "PENDING" if len(waits) < 2 else "APPROVED"
        return httpx.Response(200, json={"id": APPROVAL_ID, "status": status, "retry_decision": status == "APPROVED"})

    with PdpClient("http://pdp", "tok", transport=httpx.MockTransport(handler)) as client:
        assert client.wait_for_approval(APPROVAL_ID, timeout=120).approved
    assert waits[0] == "30000ms" and len(waits) == 2
