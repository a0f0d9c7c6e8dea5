# METADATA
# title: OPA server authorization for the agent-pdp sidecar
# description: |
#   Loaded as its own bundle (roots ["system"]) next to the policy bundle, with
#   `opa run --authorization=basic`: OPA asks data.system.authz.allow before every
#   API request, on the API and on the diagnostic address. Only the PDP's decision
#   query and the read-only health and metrics endpoints are allowed; everything else
#   (PUT/DELETE /v1/policies, PUT/PATCH /v1/data, GET /v1/data, /v1/query, /v1/compile,
#   /v1/config, /v1/status, other data paths) is refused with 401. Policies change only
#   through the bundle.
#   The decision path must match pdp.opa.decision-path (default agentpdp/decision/result).
package system.authz

# The PDP's one query: POST /v1/data/agentpdp/decision/result, optionally ?provenance=true
# (the PDP records the bundle revision from the provenance).
decision_path := ["v1", "data", "agentpdp", "decision", "result"]

decision_params := {"provenance"}

default allow := false

allow if {
	input.method == "POST"
	input.path == decision_path
	every name, _ in input.params {
		name in decision_params
	}
}

# Liveness/readiness (/health, /health?bundles, /health?plugins) of the probes and the PDP's
# health indicator, and Prometheus metrics on the diagnostic port: read-only, no policy or data.
allow if {
	input.method == "GET"
	input.path in [["health"], ["metrics"]]
}
