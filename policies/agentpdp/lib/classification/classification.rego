# METADATA
# title: Data classification helpers
# description: Ordered classification levels public < internal < confidential < restricted.
package agentpdp.lib.classification

levels := {
	"public": 0,
	"internal": 1,
	"confidential": 2,
	"restricted": 3,
}

# valid(c) is true when c is one of the known classification names.
valid(c) if levels[c] >= 0

# level(c) is the numeric rank of c; undefined for unknown names.
level(c) := levels[c]

# at_least(c, floor) is true when c ranks at or above floor.
at_least(c, floor) if levels[c] >= levels[floor]

# escalated(declared, stored) is true when the caller declared data at least
# two levels below what the system of record says it is.
escalated(declared, stored) if levels[stored] - levels[declared] >= 2
