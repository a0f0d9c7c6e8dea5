"""Pure logic: idempotency keys, canonical request bodies, target templates, guard config, redaction."""

from __future__ import annotations

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
        "arguments": {"contact_id": "1"}, "context": {"idempotency_key": "r:c:1"}, "approval_id": "ap",
        "held_credential": {"decision_id": "d"},
    }


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


def test_a_manifest_source_that_does_not_exist_yet_is_refused_not_replaced() -> None:
    raw = minimal_config()
    raw["manifest"] = {"source": "registry"}
    with pytest.raises(ConfigError, match="not available yet"):
        parse_config(raw)


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
