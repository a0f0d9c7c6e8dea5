"""Pure logic: idempotency keys, canonical request bodies, target templates, guard config, redaction."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from agent_pdp import CredentialError, Secret, ToolCall, build_decision_request, call_digest, idempotency_key, unwrap
from agent_pdp.guard import ConfigError, TargetError, derive_resource, parse_config, redact_pii


def test_idempotency_key_is_run_call_attempt() -> None:
    assert idempotency_key("run-1", "call-7", 2) == "run-1:call-7:2"


def test_idempotency_key_of_odd_ids_is_still_a_valid_identifier() -> None:
    key = idempotency_key("run with spaces", "x" * 300, 1)
    assert key.startswith("k-") and key.endswith(":1") and len(key) <= 128
    assert key == idempotency_key("run with spaces", "x" * 300, 1)
    assert key != idempotency_key("run with spaces", "x" * 300, 2)
    with pytest.raises(ValueError):
        idempotency_key("r", "c", 0)


def test_call_digest_ignores_argument_order_but_not_values() -> None:
    assert call_digest("t", {"a": 1, "b": [1, 2]}) == call_digest("t", {"b": [1, 2], "a": 1})
    assert call_digest("t", {"a": 1}) != call_digest("t", {"a": 2})
    assert call_digest("t", {"a": 1}) != call_digest("u", {"a": 1})


def test_decision_request_matches_the_api_shape() -> None:
    call = ToolCall(tenant="t", agent_id="a", task_id="k", intent="i", tool="crm.contacts.delete", action="delete",
                    target_system="crm", target_resource="contacts/1", data_classification="internal",
                    arguments={"contact_id": "1"}, workload_identity_token="svid", approval_id="ap",
                    held_credential_decision_id="d", idempotency_key="r:c:1", chain_depth=2)
    body = build_decision_request(call)
    assert body == {
        "tenant": "t", "agent": {"id": "a", "workload_identity_token": "svid"},
        "task": {"id": "k", "intent": "i", "chain_depth": 2}, "tool": "crm.contacts.delete", "action": "delete",
        "target": {"system": "crm", "resource": "contacts/1"}, "data_classification": "internal",
        "arguments": {"contact_id": "1"}, "idempotency_key": "r:c:1", "approval_id": "ap",
        "held_credential": {"decision_id": "d"},
    }
    # The key is a top-level field (DecisionRequest.idempotency_key), never hidden in the free-form context.
    assert "context" not in body
    assert build_decision_request(replace(call, context={"ticket": "T-1"}))["context"] == {"ticket": "T-1"}


@pytest.mark.parametrize("template,arguments,expected", [
    ("contacts/{contact_id}", {"contact_id": "42"}, "contacts/42"),
    ("contacts/{contact_id}", {"contact_id": 42}, "contacts/42"),
    ("orgs/{org}/users/{user}", {"org": "acme", "user": "u-1", "extra": "x"}, "orgs/acme/users/u-1"),
    ("static", {}, "static"),
])
def test_template_derivation(template: str, arguments: dict[str, object], expected: str) -> None:
    assert derive_resource(template, arguments) == expected


@pytest.mark.parametrize("arguments", [
    {}, {"contact_id": None}, {"contact_id": True}, {"contact_id": ["1"]}, {"contact_id": {"a": 1}},
    {"contact_id": "../vip/7"}, {"contact_id": "vip/7"}, {"contact_id": ".."}, {"contact_id": "."},
    {"contact_id": ""}, {"contact_id": "a\nb"}, {"contact_id": "a b"}, {"contact_id": "x" * 300},
])
def test_arguments_that_do_not_name_one_segment_are_refused(arguments: dict[str, object]) -> None:
    with pytest.raises(TargetError):
        derive_resource("contacts/{contact_id}", arguments)


def minimal_config(**tool: object) -> dict[str, object]:
    entry = {"name": "read", "upstream": "crm", "upstream_tool": "read_contact", "registry_tool": "crm.contacts.read",
             "action": "read", "target": {"system": "crm", "resource": "contacts/{contact_id}"}, **tool}
    return {"pdp": {"url": "http://pdp/", "token_env": "PDP_TOKEN"},
            "agent": {"tenant": "t", "id": "a"},
            "upstreams": {"crm": {"transport": "streamable_http", "url": "http://up/mcp",
                                  "credential": {"header": "Authorization", "scheme": "Bearer"}}},
            "tools": [entry]}


def test_config_parses_and_defaults() -> None:
    config = parse_config(minimal_config())
    assert config.pdp_url == "http://pdp"
    assert config.tools["read"].classification == "internal"
    assert config.approve_url_template == "http://pdp/v1/approvals/{approval_id}/approve"
    assert config.manifest_tools is None


@pytest.mark.parametrize("bad", [
    {"action": "destroy"}, {"classification": "secret"}, {"upstream": "nope"},
    {"target": {"system": "crm", "resource": "contacts/{contact_id!r}"}},
    {"target": {"system": "crm", "resource": "contacts/{contact_id:>5}"}},
    {"target": {"system": "crm", "resource": "contacts/{a.b}"}}, {"registry_tool": ""},
])
def test_config_errors_are_refused_at_start(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        parse_config(minimal_config(**bad))


def test_stdio_upstreams_take_no_header_credential() -> None:
    raw = minimal_config()
    raw["upstreams"] = {"crm": {"transport": "stdio", "command": "x", "credential": {"header": "Authorization"}}}
    with pytest.raises(ConfigError):
        parse_config(raw)


def test_redact_pii_hides_emails_and_phone_numbers() -> None:
    text = redact_pii("Jane Roe, jane.roe@example.com, +1 555 123 4567, id 42")
    assert "jane.roe@example.com" not in text and "555 123 4567" not in text
    assert "Jane Roe" in text and "id 42" in text


def test_unwrap_returns_the_client_token_and_hides_it_in_repr() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/sys/wrapping/unwrap"
        assert request.headers["X-Vault-Token"] == "wrapping-token"
        return httpx.Response(200, json={"auth": {"client_token": "s.real"}})

    token = unwrap("http://bao:8200/", "wrapping-token", transport=httpx.MockTransport(handler))
    assert token == "s.real" and isinstance(token, Secret) and "s.real" not in repr(token)


@pytest.mark.parametrize("status,body", [(400, {"errors": ["wrapping token is not valid"]}), (200, {}),
                                         (200, {"auth": {"client_token": ""}})])
def test_unwrap_failures_raise_without_the_token(status: int, body: object) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    with pytest.raises(CredentialError) as error:
        unwrap("http://bao", "wrapping-token", transport=transport)
    assert "wrapping-token" not in str(error.value)


def test_scrub_reaches_every_content_block_and_nested_value() -> None:
    import mcp_types as types

    from agent_pdp.guard.server import _scrub

    block = types.EmbeddedResource(type="resource", resource=types.TextResourceContents(
        uri="file:///x", text="token s.SECRET for jane@example.com"))
    scrubbed = type(block).model_validate(_scrub(block.model_dump(by_alias=True, exclude_none=True),
                                                 ["s.SECRET"], True))
    assert scrubbed.resource.text == "token [credential withheld] for [redacted email]"
    assert _scrub({"a": ["s.SECRET", 1, None]}, ["s.SECRET"], False) == {"a": ["[credential withheld]", 1, None]}


def test_the_registry_manifest_source_takes_no_list_of_its_own() -> None:
    raw = minimal_config()
    raw["manifest"] = {"source": "registry", "refresh_seconds": 5}
    config = parse_config(raw)
    assert config.manifest_source == "registry" and config.manifest_refresh_seconds == 5
    raw["manifest"] = {"source": "registry", "allowed_tools": ["crm.contacts.read"]}
    with pytest.raises(ConfigError, match="allowed_tools"):
        parse_config(raw)
    raw["manifest"] = {"source": "somewhere"}
    with pytest.raises(ConfigError):
        parse_config(raw)


MANIFEST = {
    "enforcement_point": {"id": "6f1c1d2e-0000-4000-8000-000000000001", "principal": "gw-1"},
    "agents": [{"id": "a", "enabled": True, "unregistered_tools": ["crm.notes.read"], "tools": [
        {"name": "crm.contacts.read", "target_system": "crm", "action_kinds": ["read"], "risk_tier": "low",
         "read_only": True, "destructive": False, "argument_schema": None, "version": 3}]}],
    "next_after": None,
}


def manifest_transport(answers: list[tuple[int, object]], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        return httpx.Response(status, json=body)
    return httpx.MockTransport(handler)


def test_parse_manifest_reads_the_agents_tools_and_refuses_an_unbound_agent() -> None:
    from agent_pdp import PdpError, parse_manifest

    manifest = parse_manifest("a", 200, MANIFEST)
    assert set(manifest.tools) == {"crm.contacts.read"} and manifest.unregistered_tools == ("crm.notes.read",)
    assert manifest.tools["crm.contacts.read"].action_kinds == ("read",) and manifest.tools["crm.contacts.read"].version == 3
    with pytest.raises(PdpError, match="not bound"):
        parse_manifest("b", 200, MANIFEST)
    with pytest.raises(PdpError, match="404"):
        parse_manifest("a", 404, {"title": "Not found"})
    with pytest.raises(PdpError, match="malformed"):
        parse_manifest("a", 200, {"agents": [{"id": "a", "tools": [{"name": "x"}]}]})


def test_manifest_call_sends_the_agent_and_the_decide_token() -> None:
    from agent_pdp import PdpClient

    seen: list[httpx.Request] = []
    with PdpClient("http://pdp", "decide-jwt", transport=manifest_transport([(200, MANIFEST)], seen)) as client:
        assert set(client.manifest("a").tools) == {"crm.contacts.read"}
    assert seen[0].url.path == "/v1/registry/enforcement-points/self"
    assert seen[0].url.params["agent"] == "a" and seen[0].headers["Authorization"] == "Bearer decide-jwt"


def test_mapping_problems_name_every_mapping_the_registry_contradicts() -> None:
    from agent_pdp import parse_manifest
    from agent_pdp.guard import mapping_problems

    manifest = parse_manifest("a", 200, MANIFEST)
    assert mapping_problems(parse_config(minimal_config()), manifest) == []
    for bad, expected in [({"registry_tool": "crm.notes.read"}, "not a registered tool"),
                          ({"registry_tool": "crm.contacts.export"}, "not a registered tool"),
                          ({"action": "delete"}, "registered for read, not delete"),
                          ({"target": {"system": "bank", "resource": "x/{contact_id}"}}, "acts on 'crm'")]:
        [problem] = mapping_problems(parse_config(minimal_config(**bad)), manifest)
        assert expected in problem


async def test_registry_manifest_refreshes_and_keeps_the_last_one_when_the_pdp_fails() -> None:
    from agent_pdp import AsyncPdpClient, PdpClient
    from agent_pdp.guard import RegistryManifest

    raw = minimal_config()
    raw["manifest"] = {"source": "registry", "refresh_seconds": 10}
    config = parse_config(raw)
    now = [0.0]
    seen: list[httpx.Request] = []
    grown = {**MANIFEST, "agents": [{**MANIFEST["agents"][0], "tools": MANIFEST["agents"][0]["tools"] + [
        {"name": "crm.contacts.update", "target_system": "crm", "action_kinds": ["write"], "risk_tier": "low",
         "read_only": False, "destructive": False, "argument_schema": None, "version": 1}]}]}
    answers: list[tuple[int, object]] = [(200, grown), (503, {"title": "Service unavailable"})]

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = answers.pop(0)
        return httpx.Response(status, json=body)

    async with AsyncPdpClient("http://pdp", "t", transport=httpx.MockTransport(handler)) as pdp:
        source = RegistryManifest(config, pdp, clock=lambda: now[0])
        with PdpClient("http://pdp", "t", transport=manifest_transport([(200, MANIFEST)], [])) as client:
            source.load(client)
        assert await source.allowed_registry_tools() == {"crm.contacts.read"}
        assert seen == []  # fresh: no request
        now[0] = 11
        assert await source.allowed_registry_tools() == {"crm.contacts.read", "crm.contacts.update"}
        now[0] = 22
        assert await source.allowed_registry_tools() == {"crm.contacts.read", "crm.contacts.update"}
        assert len(seen) == 2


def test_a_guard_whose_mapping_the_registry_contradicts_does_not_load() -> None:
    from agent_pdp import PdpClient
    from agent_pdp.guard import RegistryManifest

    raw = minimal_config(registry_tool="crm.contacts.export")
    raw["manifest"] = {"source": "registry"}
    config = parse_config(raw)
    source = RegistryManifest(config, None)  # type: ignore[arg-type]
    with PdpClient("http://pdp", "t", transport=manifest_transport([(200, MANIFEST)], [])) as client:
        with pytest.raises(ConfigError, match="crm.contacts.export"):
            source.load(client)


def test_file_svid_source_rereads_the_file_so_rotation_works(tmp_path) -> None:
    from agent_pdp import FileSvidSource

    path = tmp_path / "svid"
    path.write_text("first.jwt.svid\n")
    source = FileSvidSource(path)
    assert source.jwt_svid() == "first.jwt.svid"
    path.write_text("second.jwt.svid")
    assert source.jwt_svid() == "second.jwt.svid"
    path.write_text("")
    assert source.jwt_svid() is None


def test_chain_depth_is_left_to_the_pdp_unless_set() -> None:
    call = ToolCall(tenant="t", agent_id="a", task_id="k", intent="i", tool="crm.contacts.read", action="read",
                    target_system="crm", target_resource="contacts/1", data_classification="internal",
                    parent_decision_id="p")
    assert build_decision_request(call)["task"] == {"id": "k", "intent": "i", "parent_decision_id": "p"}


def test_the_workload_api_source_without_a_spire_agent_fails_fast_instead_of_hanging(tmp_path) -> None:
    import socket
    import time

    from agent_pdp import WorkloadApiSvidSource

    # No socket file at all, and a socket nobody accepts on: each fetch fails within its timeout (the guard then
    # sends no identity), and the source connects again on the next call.
    deaf = socket.socket(socket.AF_UNIX)
    deaf.bind(str(tmp_path / "deaf.sock"))
    try:
        for path in (tmp_path / "no-agent.sock", tmp_path / "deaf.sock"):
            source = WorkloadApiSvidSource("agent-pdp", f"unix://{path}", spiffe_id="spiffe://x.test/a", timeout=1)
            for _ in range(2):
                start = time.monotonic()
                with pytest.raises(Exception):
                    source.jwt_svid()
                assert time.monotonic() - start < 10
            source.close()
    finally:
        deaf.close()
