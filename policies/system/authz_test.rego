package system.authz_test

import data.system.authz

decision := ["v1", "data", "agentpdp", "decision", "result"]

test_decision_query_is_allowed if {
	authz.allow with input as {"method": "POST", "path": decision, "params": {}}
}

test_decision_query_with_provenance_is_allowed if {
	authz.allow with input as {"method": "POST", "path": decision, "params": {"provenance": ["true"]}}
}

test_decision_query_with_explain_is_refused if {
	not authz.allow with input as {"method": "POST", "path": decision, "params": {"explain": ["full"]}}
}

test_decision_read_by_get_is_refused if {
	not authz.allow with input as {"method": "GET", "path": decision, "params": {}}
}

test_health_and_metrics_are_allowed if {
	authz.allow with input as {"method": "GET", "path": ["health"], "params": {"bundles": [""]}}
	authz.allow with input as {"method": "GET", "path": ["metrics"], "params": {}}
}

test_policy_upload_is_refused if {
	not authz.allow with input as {"method": "PUT", "path": ["v1", "policies", "x"], "params": {}}
	not authz.allow with input as {"method": "DELETE", "path": ["v1", "policies", "x"], "params": {}}
	not authz.allow with input as {"method": "GET", "path": ["v1", "policies"], "params": {}}
}

test_data_reads_and_writes_are_refused if {
	not authz.allow with input as {"method": "GET", "path": ["v1", "data"], "params": {}}
	not authz.allow with input as {"method": "POST", "path": ["v1", "data"], "params": {}}
	not authz.allow with input as {"method": "PUT", "path": ["v1", "data", "agentpdp"], "params": {}}
	not authz.allow with input as {"method": "PATCH", "path": ["v1", "data", "agentpdp"], "params": {}}
	not authz.allow with input as {"method": "POST", "path": ["v1", "data", "agentpdp", "decision"], "params": {}}
	not authz.allow with input as {"method": "POST", "path": ["v1", "data", "system", "authz", "allow"], "params": {}}
}

test_other_apis_are_refused if {
	not authz.allow with input as {"method": "POST", "path": ["v1", "query"], "params": {}}
	not authz.allow with input as {"method": "POST", "path": ["v1", "compile"], "params": {}}
	not authz.allow with input as {"method": "GET", "path": ["v1", "config"], "params": {}}
	not authz.allow with input as {"method": "GET", "path": ["v1", "status"], "params": {}}
	not authz.allow with input as {"method": "POST", "path": [], "params": {}}
}
