package agentpdp.decision_test

import data.agentpdp.decision

# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

# A well-formed, low-risk in-tenant read: ALLOW low_risk_read.
base := {
	"tenant": "acme",
	"caller": {"subject": "gw-1", "tenant": "acme", "scopes": ["decide"]},
	"agent": {
		"id": "agent-7",
		"registered": true,
		"owner": "alice",
		"allowed_tools": ["crm.contacts.read", "crm.contacts.update", "vault.secret.read", "billing.pay"],
		"home_systems": ["crm"],
		"max_chain_depth": 5,
		"enabled": true,
		"workload_identity": {
			"verified": true,
			"required": true,
			"spiffe_id": "spiffe://agent-pdp.test/agents/agent-7",
			"trust_domain": "agent-pdp.test",
			"reason": null,
		},
	},
	"task": {
		"id": "t-1", "intent": "look up customer", "chain_depth": 0, "declared_chain_depth": null,
		"parent_decision_id": null, "parent_known": true,
	},
	"tool": {
		"name": "crm.contacts.read",
		"registered": true,
		"target_system": "crm",
		"targets_system": true,
		"action_kinds": ["read", "write", "delete", "execute", "payment", "privilege_grant", "secret_read"],
		"risk_tier": "low",
		"read_only": false,
		"destructive": false,
		"credential_profile": profile,
	},
	"action": {"kind": "read"},
	"target": {"system": "crm", "resource": "contacts/42"},
	"classification": {"declared": "internal", "stored": "internal", "effective": "internal"},
	"approval": null,
	"quarantine": {"active": false},
	"context": {},
}

# The tool's credential profile: generous caps, so that the policy's own limits show.
profile := {
	"name": "p", "kind": "token", "grantable": ["tenant.acme.p"], "per_agent": false,
	"max_ttl_seconds": 3600, "max_uses": 100,
}

valid_approval := {"id": "ap-1", "status": "APPROVED", "matches": true, "expired": false, "consumed": false}

# decide(patch): decision for base deep-merged with patch.
decide(patch) := r if {
	r := decision.result with input as object.union(base, patch)
}

# decide_without(path): decision for base with one field removed ("a/b").
decide_without(path) := r if {
	r := decision.result with input as json.remove(base, [path])
}

cls(declared, stored, effective) := {"classification": {"declared": declared, "stored": stored, "effective": effective}}

no_quarantine := {"requested": false, "reason": null}

# Shape every result must have.
well_formed(r) if {
	r.outcome in {"ALLOW", "DENY", "STEP_UP", "CONSTRAIN"}
	is_array(r.reasons)
	count(r.reasons) > 0
	r.reasons == sort(r.reasons)
	is_array(r.obligations)
	r.obligations == sort(r.obligations)
	is_boolean(r.quarantine.requested)
	"reason" in object.keys(r.quarantine)
	"credential" in object.keys(r)
	"approval" in object.keys(r)
}

denied_with(r, reason) if {
	well_formed(r)
	r.outcome == "DENY"
	reason in r.reasons
	r.credential == null
	r.approval == null
	r.obligations == []
}

# ---------------------------------------------------------------------------
# ALLOW
# ---------------------------------------------------------------------------

test_low_risk_read_internal_allowed if {
	decide({}) == {
		"outcome": "ALLOW",
		"reasons": ["low_risk_read"],
		"obligations": [],
		"credential": {"policies": ["tenant.acme.p"], "ttl_seconds": 300, "num_uses": 10, "reuse": false},
		"approval": null,
		"quarantine": no_quarantine,
	}
}

test_low_risk_read_public_allowed if {
	r := decide(cls("public", null, "public"))
	r.outcome == "ALLOW"
	r.reasons == ["low_risk_read"]
}

test_low_risk_read_stored_missing_allowed if {
	r := decision.result with input as json.remove(base, ["classification/stored"])
	r.outcome == "ALLOW"
}

test_in_domain_write_allowed if {
	r := decide({"tool": {"name": "crm.contacts.update"}, "action": {"kind": "write"}})
	r == {
		"outcome": "ALLOW",
		"reasons": ["in_domain_write"],
		"obligations": [],
		"credential": {"policies": ["tenant.acme.p"], "ttl_seconds": 120, "num_uses": 1, "reuse": false},
		"approval": null,
		"quarantine": no_quarantine,
	}
}

test_in_domain_execute_public_allowed if {
	r := decide(object.union(cls("public", "public", "public"), {"action": {"kind": "execute"}}))
	r.outcome == "ALLOW"
	r.reasons == ["in_domain_write"]
	r.credential.policies == ["tenant.acme.p"]
}

test_valid_approval_does_not_change_low_risk_read if {
	r := decide({"approval": valid_approval})
	r.outcome == "ALLOW"
	r.reasons == ["low_risk_read"]
	r.credential.ttl_seconds == 300
}

# ---------------------------------------------------------------------------
# CONSTRAIN
# ---------------------------------------------------------------------------

test_confidential_read_constrained if {
	decide(cls("internal", "confidential", "confidential")) == {
		"outcome": "CONSTRAIN",
		"reasons": ["confidential_read"],
		"obligations": ["no_export", "redact_pii"],
		"credential": {"policies": ["tenant.acme.p"], "ttl_seconds": 120, "num_uses": 5, "reuse": false},
		"approval": null,
		"quarantine": no_quarantine,
	}
}

test_confidential_write_in_domain_constrained if {
	r := decide(object.union(cls("confidential", "confidential", "confidential"), {"action": {"kind": "write"}}))
	r == {
		"outcome": "CONSTRAIN",
		"reasons": ["confidential_in_domain_write"],
		"obligations": ["log_full_arguments"],
		"credential": {"policies": ["tenant.acme.p"], "ttl_seconds": 60, "num_uses": 1, "reuse": false},
		"approval": null,
		"quarantine": no_quarantine,
	}
}

test_confidential_execute_in_domain_constrained if {
	r := decide(object.union(cls("confidential", null, "confidential"), {"action": {"kind": "execute"}}))
	r.outcome == "CONSTRAIN"
	r.reasons == ["confidential_in_domain_write"]
}

test_direct_secret_read_constrained if {
	r := decide({"tool": {"name": "vault.secret.read"}, "action": {"kind": "secret_read"}})
	r == {
		"outcome": "CONSTRAIN",
		"reasons": ["direct_secret_read"],
		"obligations": ["no_persist"],
		"credential": {"policies": ["tenant.acme.p"], "ttl_seconds": 30, "num_uses": 1, "reuse": false},
		"approval": null,
		"quarantine": no_quarantine,
	}
}

# ---------------------------------------------------------------------------
# STEP_UP
# ---------------------------------------------------------------------------

step_up_with(r, reasons, approvals) if {
	well_formed(r)
	r.outcome == "STEP_UP"
	r.reasons == reasons
	r.approval == {"required_approvals": approvals}
	r.credential == null
	r.obligations == []
	r.quarantine == no_quarantine
}

test_delete_steps_up_one_approver if {
	step_up_with(decide({"action": {"kind": "delete"}}), ["high_risk_action"], 1)
}

test_payment_steps_up_two_approvers if {
	step_up_with(decide({"tool": {"name": "billing.pay"}, "action": {"kind": "payment"}}), ["high_risk_action"], 2)
}

test_privilege_grant_steps_up_two_approvers if {
	step_up_with(decide({"action": {"kind": "privilege_grant"}}), ["high_risk_action"], 2)
}

test_restricted_read_steps_up if {
	step_up_with(decide(cls("restricted", "restricted", "restricted")), ["restricted_data"], 1)
}

test_cross_domain_write_steps_up if {
	r := decide({"action": {"kind": "write"}, "target": {"system": "erp"}})
	step_up_with(r, ["cross_domain_write"], 1)
}

test_cross_domain_execute_steps_up if {
	r := decide({"action": {"kind": "execute"}, "target": {"system": "erp"}})
	step_up_with(r, ["cross_domain_write"], 1)
}

test_confidential_cross_domain_write_steps_up_not_constrained if {
	r := decide(object.union(cls("confidential", "confidential", "confidential"), {"action": {"kind": "write"}, "target": {"system": "erp"}}))
	step_up_with(r, ["cross_domain_write"], 1)
}

test_write_without_home_systems_steps_up if {
	r := decision.result with input as json.remove(object.union(base, {"action": {"kind": "write"}}), ["agent/home_systems"])
	step_up_with(r, ["cross_domain_write"], 1)
}

test_cross_domain_read_is_not_a_write if {
	r := decide({"target": {"system": "erp"}})
	r.outcome == "ALLOW"
}

test_chained_secret_read_steps_up if {
	r := decide({"action": {"kind": "secret_read"}, "task": {"chain_depth": 1}})
	step_up_with(r, ["chained_secret_read"], 1)
}

no_identity_needed := {"verified": false, "required": false, "spiffe_id": null, "trust_domain": null, "reason": "missing"}

test_secret_read_without_workload_identity_steps_up if {
	r := decide({"action": {"kind": "secret_read"}, "agent": {"workload_identity": no_identity_needed}})
	step_up_with(r, ["missing_workload_identity"], 1)
}

test_secret_read_workload_identity_missing_field_is_denied_as_required if {
	r := decision.result with input as json.remove(object.union(base, {"action": {"kind": "secret_read"}}), ["agent/workload_identity"])
	r.outcome == "DENY"
	r.reasons == ["workload_identity_required"]
}

test_step_up_reasons_accumulate_sorted if {
	r := decide(object.union(cls("restricted", null, "restricted"), {"action": {"kind": "payment"}}))
	step_up_with(r, ["high_risk_action", "restricted_data"], 2)
}

test_secret_read_chained_and_no_identity if {
	r := decide({"action": {"kind": "secret_read"}, "task": {"chain_depth": 2}, "agent": {"workload_identity": no_identity_needed}})
	step_up_with(r, ["chained_secret_read", "missing_workload_identity"], 1)
}

# ---------------------------------------------------------------------------
# Human approval turns STEP_UP into a single-use ALLOW
# ---------------------------------------------------------------------------

approved_allow(r, policy, obligations) if {
	r == {
		"outcome": "ALLOW",
		"reasons": ["approved_by_human"],
		"obligations": obligations,
		"credential": {"policies": [policy], "ttl_seconds": 120, "num_uses": 1, "reuse": false},
		"approval": null,
		"quarantine": no_quarantine,
	}
}

test_approved_delete_allowed_single_use if {
	approved_allow(decide({"action": {"kind": "delete"}, "approval": valid_approval}), "tenant.acme.p", [])
}

test_approved_payment_allowed_single_use if {
	approved_allow(decide({"action": {"kind": "payment"}, "approval": valid_approval}), "tenant.acme.p", [])
}

test_approved_privilege_grant_allowed_single_use if {
	approved_allow(decide({"action": {"kind": "privilege_grant"}, "approval": valid_approval}), "tenant.acme.p", [])
}

test_approved_restricted_read_keeps_data_obligations if {
	r := decide(object.union(cls("restricted", "restricted", "restricted"), {"approval": valid_approval}))
	approved_allow(r, "tenant.acme.p", ["no_export", "redact_pii"])
}

test_approved_cross_domain_write_allowed if {
	approved_allow(decide({"action": {"kind": "write"}, "target": {"system": "erp"}, "approval": valid_approval}), "tenant.acme.p", [])
}

test_approved_restricted_write_logs_arguments if {
	r := decide(object.union(cls("restricted", null, "restricted"), {"action": {"kind": "execute"}, "approval": valid_approval}))
	approved_allow(r, "tenant.acme.p", ["log_full_arguments"])
}

test_approved_chained_secret_read_allowed if {
	r := decide({"action": {"kind": "secret_read"}, "task": {"chain_depth": 1}, "approval": valid_approval})
	approved_allow(r, "tenant.acme.p", ["no_persist"])
}

test_approval_does_not_lift_constrain if {
	r := decide(object.union(cls("confidential", null, "confidential"), {"approval": valid_approval}))
	r.outcome == "CONSTRAIN"
	r.reasons == ["confidential_read"]
}

# ---------------------------------------------------------------------------
# approval_invalid
# ---------------------------------------------------------------------------

test_invalid_approvals_denied if {
	bad := [
		object.union(valid_approval, {"status": "PENDING"}),
		object.union(valid_approval, {"status": "DENIED"}),
		object.union(valid_approval, {"matches": false}),
		object.union(valid_approval, {"expired": true}),
		object.union(valid_approval, {"consumed": true}),
		json.remove(valid_approval, ["expired"]),
		json.remove(valid_approval, ["matches"]),
		{},
		"APPROVED",
		true,
	]
	every a in bad {
		r := decide({"action": {"kind": "delete"}, "approval": a})
		denied_with(r, "approval_invalid")
		r.reasons == ["approval_invalid"]
	}
}

test_invalid_approval_denies_even_low_risk_read if {
	r := decide({"approval": object.union(valid_approval, {"expired": true})})
	r.reasons == ["approval_invalid"]
	denied_with(r, "approval_invalid")
}

test_absent_approval_is_not_invalid if {
	r := decision.result with input as json.remove(base, ["approval"])
	r.outcome == "ALLOW"
}

# ---------------------------------------------------------------------------
# DENY rules
# ---------------------------------------------------------------------------

test_quarantined_agent_denied_even_for_low_risk_read if {
	r := decide({"quarantine": {"active": true}})
	r == {
		"outcome": "DENY",
		"reasons": ["quarantined"],
		"obligations": [],
		"credential": null,
		"approval": null,
		"quarantine": no_quarantine,
	}
}

test_unregistered_agent_denied if {
	r := decide({"agent": {"registered": false}})
	denied_with(r, "unknown_agent")
	r.reasons == ["unknown_agent"]
}

test_agent_registered_must_be_boolean_true if {
	denied_with(decide({"agent": {"registered": "true"}}), "unknown_agent")
	denied_with(decide_without("agent/registered"), "unknown_agent")
	denied_with(decide_without("agent"), "unknown_agent")
}

test_tenant_mismatch_denied if {
	r := decide({"caller": {"tenant": "globex"}})
	denied_with(r, "tenant_mismatch")
	r.reasons == ["tenant_mismatch"]
}

test_unregistered_tool_denied if {
	r := decide({"tool": {"registered": false}})
	denied_with(r, "unknown_tool")
	r.reasons == ["unknown_tool"]
	denied_with(decide_without("tool/registered"), "unknown_tool")
	denied_with(decide({"tool": {"registered": "true"}}), "unknown_tool")
}

test_tool_used_on_another_system_denied if {
	r := decide({"tool": {"targets_system": false}})
	r.reasons == ["tool_action_mismatch", "tool_target_mismatch"]
	denied_with(decide_without("tool/targets_system"), "tool_target_mismatch")
}

test_action_kind_the_tool_does_not_allow_denied if {
	r := decide({"tool": {"action_kinds": ["write"]}})
	r.reasons == ["action_not_allowed_for_tool", "tool_action_mismatch"]
	denied_with(decide_without("tool/action_kinds"), "action_not_allowed_for_tool")
	denied_with(decide({"tool": {"action_kinds": "read"}}), "action_not_allowed_for_tool")
}

test_read_only_tool_only_reads if {
	decide({"tool": {"read_only": true}}).outcome == "ALLOW"
	every kind in ["write", "secret_read", "delete", "execute"] {
		r := decide({"tool": {"read_only": true}, "action": {"kind": kind}})
		denied_with(r, "tool_action_mismatch")
		denied_with(r, "tool_read_only")
		r.credential == null
	}
}

# kb-reader's only tool is kb.search (read-only, action kinds [read]): however the call names the action kind,
# it never gets more than kb.search's read profile (no secret-read or write policy).
test_kb_reader_gets_no_secret_or_write_credential if {
	kb := {
		"agent": {"allowed_tools": ["kb.search"], "home_systems": ["kb"]},
		"tool": {"name": "kb.search", "target_system": "kb", "action_kinds": ["read"], "read_only": true},
		"target": {"system": "kb", "resource": "docs/1"},
	}
	decide(kb).credential.policies == ["tenant.acme.p"]
	every kind in ["secret_read", "write", "execute"] {
		r := decide(object.union(kb, {"action": {"kind": kind}}))
		r.outcome == "DENY"
		denied_with(r, "tool_action_mismatch")
	}
	denied_with(decide(object.union(kb, {"tool": {"targets_system": false}})), "tool_action_mismatch")
}

test_unknown_parent_denied if {
	r := decide({"task": {"parent_decision_id": "4a1a2f5e-4a4b-4d2c-9b1e-1f2a3b4c5d6e", "parent_known": false}})
	r.reasons == ["parent_unknown"]
	named := object.union(base, {"task": {"parent_decision_id": "4a1a2f5e-4a4b-4d2c-9b1e-1f2a3b4c5d6e"}})
	r2 := decision.result with input as json.remove(named, ["task/parent_known"])
	denied_with(r2, "parent_unknown")
}

test_known_parent_allowed if {
	decide({"task": {
		"parent_decision_id": "4a1a2f5e-4a4b-4d2c-9b1e-1f2a3b4c5d6e", "parent_known": true,
		"chain_depth": 1, "declared_chain_depth": 1,
	}}).outcome == "ALLOW"
}

test_declared_depth_must_match_the_derived_one if {
	r := decide({"task": {"chain_depth": 1, "declared_chain_depth": 0}})
	r.reasons == ["chain_mismatch"]
	decide({"task": {"chain_depth": 1, "declared_chain_depth": null}}).outcome == "ALLOW"
	decide_without("task/declared_chain_depth").outcome == "ALLOW"
}

test_disabled_agent_denied if {
	r := decide({"agent": {"enabled": false}})
	r.reasons == ["agent_disabled"]
	denied_with(decide_without("agent/enabled"), "agent_disabled")
}

test_tool_not_in_manifest_denied_and_quarantine_requested if {
	r := decide({"tool": {"name": "crm.contacts.export"}})
	r == {
		"outcome": "DENY",
		"reasons": ["tool_not_in_manifest"],
		"obligations": [],
		"credential": null,
		"approval": null,
		"quarantine": {"requested": true, "reason": "tool_not_in_manifest"},
	}
}

test_tool_not_in_manifest_when_manifest_missing_or_malformed if {
	denied_with(decide_without("agent/allowed_tools"), "tool_not_in_manifest")
	denied_with(decide({"agent": {"allowed_tools": {"x": "crm.contacts.read"}}}), "tool_not_in_manifest")
	denied_with(decide({"agent": {"allowed_tools": []}}), "tool_not_in_manifest")
}

test_chain_depth_at_limit_allowed if {
	decide({"task": {"chain_depth": 5}}).outcome == "ALLOW"
}

test_chain_depth_over_limit_denied_without_quarantine if {
	r := decide({"task": {"chain_depth": 6}})
	denied_with(r, "chain_depth_exceeded")
	r.reasons == ["chain_depth_exceeded"]
	r.quarantine == no_quarantine
}

test_chain_depth_at_twice_limit_no_quarantine if {
	r := decide({"task": {"chain_depth": 10}})
	denied_with(r, "chain_depth_exceeded")
	r.quarantine == no_quarantine
}

test_chain_depth_over_twice_limit_requests_quarantine if {
	r := decide({"task": {"chain_depth": 11}})
	denied_with(r, "chain_depth_exceeded")
	r.quarantine == {"requested": true, "reason": "chain_depth_exceeded"}
}

test_chain_depth_uses_agent_limit if {
	denied_with(decide({"agent": {"max_chain_depth": 2}, "task": {"chain_depth": 3}}), "chain_depth_exceeded")
	decide({"agent": {"max_chain_depth": 8}, "task": {"chain_depth": 8}}).outcome == "ALLOW"
	decide({"agent": {"max_chain_depth": 1}, "task": {"chain_depth": 3}}).quarantine.requested == true
}

test_chain_depth_null_limit_uses_default_5 if {
	decide({"agent": {"max_chain_depth": null}, "task": {"chain_depth": 5}}).outcome == "ALLOW"
	denied_with(decide({"agent": {"max_chain_depth": null}, "task": {"chain_depth": 6}}), "chain_depth_exceeded")
	r := decision.result with input as json.remove(object.union(base, {"task": {"chain_depth": 11}}), ["agent/max_chain_depth"])
	r.quarantine.requested == true
}

test_classification_escalation_denied_and_quarantine_requested if {
	r := decide(cls("public", "confidential", "confidential"))
	r == {
		"outcome": "DENY",
		"reasons": ["classification_escalation"],
		"obligations": [],
		"credential": null,
		"approval": null,
		"quarantine": {"requested": true, "reason": "classification_escalation"},
	}
}

test_classification_escalation_restricted if {
	r := decide(cls("internal", "restricted", "restricted"))
	denied_with(r, "classification_escalation")
	r.quarantine.requested == true
}

test_one_level_below_stored_is_not_escalation if {
	r := decide(cls("internal", "confidential", "confidential"))
	r.outcome == "CONSTRAIN"
	r.quarantine == no_quarantine
}

# ---------------------------------------------------------------------------
# invalid_input / missing fields
# ---------------------------------------------------------------------------

test_unknown_action_kind_invalid if {
	denied_with(decide({"action": {"kind": "sudo"}}), "invalid_input")
	denied_with(decide({"action": {"kind": "READ"}}), "invalid_input")
	denied_with(decide({"action": {"kind": null}}), "invalid_input")
}

test_unknown_classification_invalid if {
	denied_with(decide(cls("internal", "internal", "secret")), "invalid_input")
	denied_with(decide(cls("bogus", "internal", "internal")), "invalid_input")
	denied_with(decide(cls("internal", "bogus", "internal")), "invalid_input")
	denied_with(decide(cls("internal", 3, "internal")), "invalid_input")
}

test_effective_below_declared_or_stored_invalid if {
	denied_with(decide(cls("confidential", null, "internal")), "invalid_input")
	denied_with(decide(cls("internal", "confidential", "internal")), "invalid_input")
}

test_malformed_fields_invalid if {
	patches := [
		{"tenant": ""},
		{"tenant": 7},
		{"caller": {"tenant": null}},
		{"tool": {"name": ["crm.contacts.read"]}},
		{"task": {"chain_depth": -1}},
		{"task": {"chain_depth": "0"}},
		{"agent": {"max_chain_depth": "10"}},
		{"agent": {"max_chain_depth": -1}},
		{"target": {"system": null}},
		{"quarantine": {"active": "false"}},
	]
	every p in patches {
		denied_with(decide(p), "invalid_input")
	}
}

test_missing_required_fields_invalid if {
	every path in [
		"tenant",
		"caller",
		"caller/tenant",
		"tool",
		"tool/name",
		"action",
		"action/kind",
		"task",
		"task/chain_depth",
		"target",
		"target/system",
		"classification",
		"classification/declared",
		"classification/effective",
		"quarantine",
		"quarantine/active",
	] {
		denied_with(decide_without(path), "invalid_input")
	}
}

test_string_chain_depth_is_not_compared_with_limit if {
	r := decide({"task": {"chain_depth": "99"}})
	r.reasons == ["invalid_input"]
	r.quarantine == no_quarantine
}

test_empty_input_denied_well_formed if {
	r := decision.result with input as {}
	r == {
		"outcome": "DENY",
		"reasons": ["invalid_input", "unknown_agent", "unknown_tool"],
		"obligations": [],
		"credential": null,
		"approval": null,
		"quarantine": no_quarantine,
	}
}

test_no_input_denied_well_formed if {
	r := decision.result
	denied_with(r, "invalid_input")
	r.quarantine == no_quarantine
}

test_non_object_input_denied if {
	every i in [[], "allow", 42, null, true] {
		r := decision.result with input as i
		denied_with(r, "invalid_input")
		denied_with(r, "unknown_agent")
	}
}

# ---------------------------------------------------------------------------
# Precedence and aggregation
# ---------------------------------------------------------------------------

test_deny_beats_step_up if {
	r := decide({"action": {"kind": "payment"}, "quarantine": {"active": true}})
	r.outcome == "DENY"
	r.reasons == ["quarantined"]
	r.approval == null
}

test_deny_beats_valid_approval if {
	r := decide({"action": {"kind": "delete"}, "approval": valid_approval, "caller": {"tenant": "globex"}})
	r.outcome == "DENY"
	r.reasons == ["tenant_mismatch"]
}

test_deny_beats_constrain if {
	r := decide(object.union(cls("confidential", null, "confidential"), {"agent": {"registered": false}}))
	denied_with(r, "unknown_agent")
}

test_all_matching_deny_reasons_sorted if {
	r := decide({
		"quarantine": {"active": true},
		"agent": {"registered": false},
		"caller": {"tenant": "globex"},
		"tool": {"name": "shell.exec"},
		"task": {"chain_depth": 20},
		"approval": {"status": "REJECTED"},
		"classification": {"declared": "public", "stored": "restricted", "effective": "restricted"},
	})
	r.outcome == "DENY"
	r.reasons == [
		"approval_invalid",
		"chain_depth_exceeded",
		"classification_escalation",
		"quarantined",
		"tenant_mismatch",
		"tool_not_in_manifest",
		"unknown_agent",
	]

	# An unregistered agent is never quarantined, whatever else it did.
	r.quarantine == no_quarantine
}

test_step_up_beats_constrain if {
	r := decision.result with input as base
		with decision.step_up as {"restricted_data"}
		with decision.constrain as {"confidential_read"}
	r.outcome == "STEP_UP"
	r.reasons == ["restricted_data"]
}

test_constrain_beats_allow if {
	r := decision.result with input as base
		with decision.constrain as {"confidential_read"}
	r.outcome == "CONSTRAIN"
	r.reasons == ["confidential_read"]
	r.credential == {"policies": ["tenant.acme.p"], "ttl_seconds": 120, "num_uses": 5, "reuse": false}
}

test_no_matching_rule_denies if {
	r := decision.result with input as base
		with decision.allow as set()
	r == {
		"outcome": "DENY",
		"reasons": ["no_matching_rule"],
		"obligations": [],
		"credential": null,
		"approval": null,
		"quarantine": no_quarantine,
	}
}

test_every_outcome_is_well_formed if {
	every p in [
		{},
		{"action": {"kind": "delete"}},
		cls("confidential", null, "confidential"),
		{"tool": {"name": "nope"}},
		{"action": {"kind": "payment"}, "approval": valid_approval},
	] {
		well_formed(decide(p))
	}
}

test_unknown_agent_is_denied_but_never_quarantined if {
	r := decide({"agent": {"registered": false, "allowed_tools": []}})
	r.outcome == "DENY"
	"unknown_agent" in r.reasons
	r.quarantine == no_quarantine
}

# ---------------------------------------------------------------------------
# Per-task credential reuse
# ---------------------------------------------------------------------------

# What the PDP looks up for a held credential of base's task that may be reused for base (a low-risk read).
held_read := {
	"decision_id": "d-1",
	"live": true,
	"same_task": true,
	"reusable": true,
	"policies": ["tenant.acme.p"],
	"remaining_seconds": 200,
	"num_uses": 10,
}

held(patch) := {"held_credential": object.union(held_read, patch)}

test_held_credential_of_the_same_grant_is_reused if {
	r := decide(held({}))
	r.outcome == "ALLOW"
	r.credential == {"policies": ["tenant.acme.p"], "ttl_seconds": 300, "num_uses": 10, "reuse": true}
}

test_no_held_credential_means_a_new_one if {
	decide({}).credential.reuse == false
	decide({"held_credential": null}).credential.reuse == false
}

test_confidential_read_may_reuse_a_credential_with_fewer_uses if {
	r := decide(object.union(cls("confidential", "confidential", "confidential"), held({"remaining_seconds": 100, "num_uses": 5})))
	r.outcome == "CONSTRAIN"
	r.credential.reuse == true
}

test_held_credential_not_reused_when_it_does_not_fit if {
	every patch in [
		{"live": false},
		{"same_task": false},
		{"reusable": false},
		{"reusable": null},
		{"policies": ["tenant.acme.other"]},
		{"policies": ["tenant.acme.p", "tenant.acme.other"]},
		{"remaining_seconds": 14},
		{"remaining_seconds": 301},
		{"num_uses": 11},
		{"remaining_seconds": "200"},
	] {
		r := decide(held(patch))
		r.outcome == "ALLOW"
		r.credential.reuse == false
	}
}

# Single-use grants (writes, secret reads) and anything approved by a human always get a fresh credential.
test_single_use_grants_never_reuse if {
	write := object.union({"tool": {"name": "crm.contacts.update"}, "action": {"kind": "write"}}, held({"policies": ["tenant.acme.p"], "remaining_seconds": 100, "num_uses": 1}))
	decide(write).outcome == "ALLOW"
	decide(write).credential.reuse == false
	secret := object.union({"tool": {"name": "vault.secret.read"}, "action": {"kind": "secret_read"}}, held({"policies": ["tenant.acme.p"], "remaining_seconds": 20, "num_uses": 1}))
	decide(secret).outcome == "CONSTRAIN"
	decide(secret).credential.reuse == false
}

test_approved_step_up_never_reuses if {
	r := decide(object.union({"action": {"kind": "delete"}, "approval": valid_approval}, held({"policies": ["tenant.acme.p"], "remaining_seconds": 100, "num_uses": 1})))
	r.outcome == "ALLOW"
	r.reasons == ["approved_by_human"]
	r.credential.reuse == false
}

test_presenting_an_approval_never_reuses if {
	# An approval for a low-risk read is unusual but possible; its credential is still fresh.
	r := decide(object.union({"approval": valid_approval}, held({})))
	r.credential.reuse == false
}

test_denied_with_a_held_credential_has_no_credential if {
	r := decide(object.union({"task": {"chain_depth": 6}}, held({})))
	denied_with(r, "chain_depth_exceeded")
}

# ---------------------------------------------------------------------------
# Credential profiles (issue 15): the grant follows the tool's profile, within its caps
# ---------------------------------------------------------------------------

test_grant_follows_profile_not_action_kind if {
	r := decide({"tool": {"credential_profile": {"grantable": ["tenant.acme.crm-read"]}}, "action": {"kind": "write"}})
	r.outcome == "ALLOW"
	r.credential.policies == ["tenant.acme.crm-read"]
}

test_profile_caps_ttl_and_uses if {
	r := decide({"tool": {"credential_profile": {"max_ttl_seconds": 60, "max_uses": 2}}})
	r.outcome == "ALLOW"
	r.credential == {"policies": ["tenant.acme.p"], "ttl_seconds": 60, "num_uses": 2, "reuse": false}
}

test_dynamic_profile_has_no_uses_cap if {
	dynamic := {
		"name": "db", "kind": "dynamic", "grantable": ["database/creds/acme.crm-read"], "per_agent": false,
		"max_ttl_seconds": 120, "max_uses": null,
	}
	r := decision.result with input as json.patch(base, [{"op": "replace", "path": "/tool/credential_profile", "value": dynamic}])
	r.outcome == "ALLOW"
	r.credential == {"policies": ["database/creds/acme.crm-read"], "ttl_seconds": 120, "num_uses": 10, "reuse": false}
}

test_tool_without_profile_denied if {
	r := decision.result with input as json.patch(base, [{"op": "replace", "path": "/tool/credential_profile", "value": null}])
	r.outcome == "DENY"
	"credential_profile_invalid" in r.reasons
	r.credential == null
}

test_profile_granting_nothing_denied if {
	denied_with(decide({"tool": {"credential_profile": {"grantable": []}}}), "credential_profile_invalid")
}

# ---------------------------------------------------------------------------
# Workload identity (SPIFFE JWT-SVID, verified by the PDP)
# ---------------------------------------------------------------------------

identity(verified, required, reason) := {"agent": {"workload_identity": {
	"verified": verified,
	"required": required,
	"spiffe_id": null,
	"trust_domain": null,
	"reason": reason,
}}}

test_no_identity_where_one_is_required_is_denied if {
	r := decide(identity(false, true, "missing"))
	r.outcome == "DENY"
	r.reasons == ["workload_identity_required"]
	r.credential == null
}

test_no_identity_where_the_tier_does_not_require_one_is_allowed if {
	r := decide(identity(false, false, "missing"))
	r.outcome == "ALLOW"
}

test_an_identity_that_does_not_verify_is_denied_with_its_reason if {
	every reason in ["malformed", "expired", "wrong_audience", "foreign_trust_domain", "not_bound_to_agent", "unknown_key"] {
		r := decide(identity(false, true, reason))
		r.outcome == "DENY"
		r.reasons == [concat("", ["workload_identity:", reason]), "workload_identity_invalid"]
	}
}

test_an_invalid_identity_is_denied_even_where_none_is_required if {
	r := decide(identity(false, false, "expired"))
	r.reasons == ["workload_identity:expired", "workload_identity_invalid"]
}

test_a_step_up_needs_the_identity_too if {
	r := decide(object.union(identity(false, true, "missing"), {"action": {"kind": "delete"}}))
	r.outcome == "DENY"
	"workload_identity_required" in r.reasons
}

test_an_unregistered_agent_is_denied_as_unknown_not_for_its_identity if {
	r := decide(object.union(identity(false, true, "not_bound_to_agent"), {"agent": {"registered": false}}))
	r.outcome == "DENY"
	not "workload_identity_invalid" in r.reasons
	"unknown_agent" in r.reasons
}

test_the_caller_cannot_claim_verification_with_a_reason if {
	# verified is the PDP's; a reason without verified == true is a failure
	r := decide(identity("true", true, "bad_signature"))
	r.outcome == "DENY"
}
