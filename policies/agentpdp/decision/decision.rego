# METADATA
# title: agent-pdp tool-call decision
# description: |
#   Decides whether an AI agent may perform a tool call.
#   Entry point: data.agentpdp.decision.result (always an object).
#   Precedence: DENY > STEP_UP > CONSTRAIN > ALLOW; nothing matched => DENY.
# schemas:
#   - input: schema.input
package agentpdp.decision

import data.agentpdp.lib.classification

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

default_max_chain_depth := 5

action_kinds := {"read", "write", "delete", "execute", "payment", "privilege_grant", "secret_read"}

write_actions := {"write", "execute"}

high_risk_actions := {"delete", "payment", "privilege_grant"}

dual_approval_actions := {"payment", "privilege_grant"}

# Credential limits per granting reason (ALLOW / CONSTRAIN reasons). `reusable`: a task may keep using
# a credential it already holds for another call of the same grant (per-task reuse within the TTL);
# single-use grants, secret reads and human approvals always get a fresh credential.
credential_limits := {
	"low_risk_read": {"ttl_seconds": 300, "num_uses": 10, "reusable": true},
	"in_domain_write": {"ttl_seconds": 120, "num_uses": 1, "reusable": false},
	"confidential_read": {"ttl_seconds": 120, "num_uses": 5, "reusable": true},
	"confidential_in_domain_write": {"ttl_seconds": 60, "num_uses": 1, "reusable": false},
	"direct_secret_read": {"ttl_seconds": 30, "num_uses": 1, "reusable": false},
	"approved_by_human": {"ttl_seconds": 120, "num_uses": 1, "reusable": false},
}

# A held credential with less lifetime left than this is not reused: the call might outlive it.
min_reuse_remaining_seconds := 15

# ---------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------

# Used only when no rule of any outcome matched.
default result := {
	"outcome": "DENY",
	"reasons": ["no_matching_rule"],
	"obligations": [],
	"credential": null,
	"approval": null,
	"quarantine": {"requested": false, "reason": null},
}

# METADATA
# title: The decision document
# description: What the PDP asks for; policies/schemas/input.json is its input.
# entrypoint: true
result := {
	"outcome": verdict.outcome,
	"reasons": sort(verdict.reasons),
	"obligations": granted_obligations,
	"credential": credential,
	"approval": approval_requirement,
	"quarantine": quarantine,
}

verdict := {"outcome": "DENY", "reasons": deny} if {
	count(deny) > 0
} else := {"outcome": "STEP_UP", "reasons": step_up} if {
	count(step_up) > 0
	not approval_valid
} else := {"outcome": "ALLOW", "reasons": {"approved_by_human"}} if {
	count(step_up) > 0
} else := {"outcome": "CONSTRAIN", "reasons": constrain} if {
	count(constrain) > 0
} else := {"outcome": "ALLOW", "reasons": allow} if {
	count(allow) > 0
}

grants_credential if verdict.outcome in {"ALLOW", "CONSTRAIN"}

credential := object.union(grant, {"reuse": reuse_held_credential}) if grants_credential

else := null

# The credential follows the tool's registered credential profile (input.tool.credential_profile, looked up
# by the PDP): its policies (or engine path) whatever the action kind, its caps bounding TTL and uses. The
# PDP refuses (credential_profile_invalid) to mint anything this asks beyond the profile.
profile := input.tool.credential_profile

grant := {
	"policies": profile.grantable,
	"ttl_seconds": min({credential_limits[r].ttl_seconds | some r in verdict.reasons} | {profile.max_ttl_seconds}),
	"num_uses": min({credential_limits[r].num_uses | some r in verdict.reasons} | uses_cap),
}

# A dynamic secret (a database login) has no use count: only the policy's limit applies.
uses_cap := {profile.max_uses} if is_number(profile.max_uses)

else := set()

# The enforcement point may keep using the credential it holds (input.held_credential, looked up by
# the PDP) instead of getting a new one only if every granting reason allows reuse and that credential
# is exactly what this decision would mint, or less: same agent and task, same policies, no more
# lifetime left than this grant's TTL, no more uses than it, reusable (not minted for a human approval), live.
default reuse_held_credential := false

reuse_held_credential if {
	every r in verdict.reasons {
		credential_limits[r].reusable == true
	}
	not approval_present
	held := input.held_credential
	held.live == true
	held.same_task == true
	held.reusable == true
	sort(held.policies) == sort(grant.policies)
	held.remaining_seconds >= min_reuse_remaining_seconds
	held.remaining_seconds <= grant.ttl_seconds
	held.num_uses <= grant.num_uses
}

granted_obligations := sort(obligations) if grants_credential

else := []

approval_requirement := {"required_approvals": required_approvals} if {
	verdict.outcome == "STEP_UP"
} else := null

required_approvals := 2 if action in dual_approval_actions

else := 1

# Only a registered agent can be quarantined: asking for an unknown id would let any caller create
# quarantine state (and its cascade) at will.
quarantine := {"requested": true, "reason": sort(quarantine_reasons)[0]} if {
	input.agent.registered == true
	count(quarantine_reasons) > 0
} else := {"requested": false, "reason": null}

quarantine_reasons contains "tool_not_in_manifest" if tool_not_in_manifest

quarantine_reasons contains "chain_depth_exceeded" if chain_depth > 2 * max_chain_depth

quarantine_reasons contains "classification_escalation" if classification_escalation

# ---------------------------------------------------------------------------
# Input helpers (all undefined / fail-closed when the field is malformed)
# ---------------------------------------------------------------------------

action := input.action.kind

effective := input.classification.effective

chain_depth := d if {
	d := input.task.chain_depth
	is_number(d)
}

max_chain_depth := d if {
	d := input.agent.max_chain_depth
	is_number(d)
} else := default_max_chain_depth

manifest := input.agent.allowed_tools if is_array(input.agent.allowed_tools)

else := []

tool_action_kinds := input.tool.action_kinds if is_array(input.tool.action_kinds)

else := []

home_systems := input.agent.home_systems if is_array(input.agent.home_systems)

else := []

in_home_domain if input.target.system in home_systems

tool_not_in_manifest if {
	is_string(input.tool.name)
	not input.tool.name in manifest
}

classification_escalation if {
	classification.escalated(input.classification.declared, input.classification.stored)
}

approval_present if input.approval != null

# The agent's workload identity as the PDP verified it (a SPIFFE JWT-SVID: signature against the trust
# bundle, audience, lifetime, and a SPIFFE ID the registry binds to this agent). Never the caller's word.
identity_verified if input.agent.workload_identity.verified == true

# Required unless the PDP says this tool's risk tier does not need it (pdp.identity.required-risk-tiers).
identity_required if not input.agent.workload_identity.required == false

identity_failure := r if {
	not identity_verified
	r := input.agent.workload_identity.reason
	is_string(r)
} else := "missing" if not identity_verified

approval_valid if {
	input.approval.status == "APPROVED"
	input.approval.matches == true
	input.approval.expired == false
	input.approval.consumed == false
}

# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------

valid_input if {
	is_string(input.tenant)
	input.tenant != ""
	is_string(input.caller.tenant)
	is_string(input.tool.name)
	action in action_kinds
	chain_depth >= 0
	valid_max_chain_depth
	is_string(input.target.system)
	is_boolean(input.quarantine.active)
	valid_classification
}

valid_max_chain_depth if object.get(input, ["agent", "max_chain_depth"], null) == null

valid_max_chain_depth if {
	d := input.agent.max_chain_depth
	is_number(d)
	d >= 0
}

# declared/effective must be known levels, stored must be null/absent or a
# known level, and effective may never be lower than declared or stored.
valid_classification if {
	classification.valid(input.classification.declared)
	classification.valid(effective)
	classification.at_least(effective, input.classification.declared)
	valid_stored_classification
}

valid_stored_classification if object.get(input, ["classification", "stored"], null) == null

valid_stored_classification if classification.at_least(effective, input.classification.stored)

# ---------------------------------------------------------------------------
# DENY rules
# ---------------------------------------------------------------------------

deny contains "quarantined" if input.quarantine.active == true

deny contains "unknown_agent" if not input.agent.registered == true

deny contains "tenant_mismatch" if input.caller.tenant != input.tenant

# The registry (looked up by the PDP, never taken from the caller) must know the tool, and the call must
# use it as registered: on its target system, for one of its action kinds.
deny contains "unknown_tool" if not input.tool.registered == true

# A registered tool without a credential profile the PDP can mint in this tenant (none, not registered, or
# granting nothing) gets no credential, so nothing is granted.
deny contains "credential_profile_invalid" if {
	input.tool.registered == true
	not profile_grantable
}

profile_grantable if count(profile.grantable) > 0

# Any misuse of a registered tool is `tool_action_mismatch`, with the specific reason beside it.
deny contains "tool_action_mismatch" if count(tool_misuse) > 0

deny contains reason if some reason in tool_misuse

tool_misuse contains "tool_target_mismatch" if {
	input.tool.registered == true
	not input.tool.targets_system == true
}

tool_misuse contains "action_not_allowed_for_tool" if {
	input.tool.registered == true
	not action in tool_action_kinds
}

# A tool registered read-only only reads, whatever action kinds it lists.
tool_misuse contains "tool_read_only" if {
	input.tool.registered == true
	input.tool.read_only == true
	action != "read"
}

deny contains "agent_disabled" if {
	input.agent.registered == true
	not input.agent.enabled == true
}

deny contains "tool_not_in_manifest" if tool_not_in_manifest

deny contains "chain_depth_exceeded" if chain_depth > max_chain_depth

# The chain depth is derived by the PDP from the parent decision's record (input.task.chain_depth); the
# caller's own claim (declared_chain_depth, null when not sent) must agree with it.
deny contains "parent_unknown" if {
	input.task.parent_decision_id != null
	not input.task.parent_known == true
}

deny contains "chain_mismatch" if {
	input.task.parent_known == true
	declared := input.task.declared_chain_depth
	declared != null
	declared != chain_depth
}

deny contains "invalid_input" if not valid_input

deny contains "approval_invalid" if {
	approval_present
	not approval_valid
}

deny contains "classification_escalation" if classification_escalation

# A registered agent's decision needs its verified workload identity (an unknown agent is DENY anyway).
deny contains "workload_identity_required" if {
	input.agent.registered == true
	identity_failure == "missing"
	identity_required
}

# A token that does not verify is never ignored, whatever the tier: invalid, expired, of another trust domain
# or audience, signed by a key outside the bundle, or the SVID of another agent. The second reason names why.
deny contains "workload_identity_invalid" if {
	input.agent.registered == true
	identity_failure != "missing"
}

deny contains sprintf("workload_identity:%s", [identity_failure]) if {
	input.agent.registered == true
	identity_failure != "missing"
}

# ---------------------------------------------------------------------------
# STEP_UP rules (a valid approval turns these into a single-use ALLOW)
# ---------------------------------------------------------------------------

step_up contains "high_risk_action" if action in high_risk_actions

step_up contains "restricted_data" if effective == "restricted"

step_up contains "cross_domain_write" if {
	action in write_actions
	not in_home_domain
}

step_up contains "chained_secret_read" if {
	action == "secret_read"
	chain_depth > 0
}

step_up contains "missing_workload_identity" if {
	action == "secret_read"
	not identity_verified
}

# ---------------------------------------------------------------------------
# CONSTRAIN rules
# ---------------------------------------------------------------------------

constrain contains "confidential_read" if {
	action == "read"
	effective == "confidential"
}

constrain contains "confidential_in_domain_write" if {
	action in write_actions
	effective == "confidential"
	in_home_domain
}

constrain contains "direct_secret_read" if {
	action == "secret_read"
	chain_depth == 0
	identity_verified
}

# ---------------------------------------------------------------------------
# ALLOW rules
# ---------------------------------------------------------------------------

allow contains "low_risk_read" if {
	action == "read"
	effective in {"public", "internal"}
}

allow contains "in_domain_write" if {
	action in write_actions
	effective in {"public", "internal"}
	in_home_domain
}

# ---------------------------------------------------------------------------
# Obligations attached whenever a credential is issued (ALLOW / CONSTRAIN,
# including human-approved step-ups). Derived from action + data sensitivity.
# ---------------------------------------------------------------------------

obligations contains "redact_pii" if {
	action == "read"
	classification.at_least(effective, "confidential")
}

obligations contains "no_export" if {
	action == "read"
	classification.at_least(effective, "confidential")
}

obligations contains "log_full_arguments" if {
	action in write_actions
	classification.at_least(effective, "confidential")
}

obligations contains "no_persist" if action == "secret_read"
