package agentpdp.lib.classification_test

import data.agentpdp.lib.classification

test_valid_levels if {
	every c in ["public", "internal", "confidential", "restricted"] {
		classification.valid(c)
	}
}

test_invalid_levels if {
	not classification.valid("secret")
	not classification.valid("")

	# non-string values arrive from JSON input at runtime
	not classification.valid(input.c) with input as {"c": null}
	not classification.valid(input.c) with input as {"c": 2}
}

test_level_order if {
	classification.level("public") < classification.level("internal")
	classification.level("internal") < classification.level("confidential")
	classification.level("confidential") < classification.level("restricted")
}

test_level_unknown_is_undefined if {
	not classification.level("top_secret")
}

test_at_least if {
	classification.at_least("confidential", "confidential")
	classification.at_least("restricted", "confidential")
	not classification.at_least("internal", "confidential")
	not classification.at_least("bogus", "public")
}

test_escalated if {
	classification.escalated("public", "confidential")
	classification.escalated("internal", "restricted")
	classification.escalated("public", "restricted")
}

test_not_escalated if {
	not classification.escalated("internal", "confidential")
	not classification.escalated("confidential", "confidential")
	not classification.escalated("restricted", "public")
	not classification.escalated("public", input.stored) with input as {"stored": null}
	not classification.escalated("bogus", "restricted")
}
