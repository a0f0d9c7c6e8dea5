-- Decide on verified facts (issue 14): the agent's workload identity, a SPIFFE JWT-SVID, as the PDP verified it.
--
-- identity_verified: the request carried a JWT-SVID that verified (signature against the configured trust
-- domain's bundle, audience, lifetime) and names a SPIFFE ID the registry binds to the agent. Only such
-- decisions feed the automatic quarantine triggers: a caller without the agent's SVID cannot quarantine it.
-- workload_spiffe_id: the SVID's SPIFFE ID once its signature verified (also when it is expired or bound to
-- another agent), never a claim of an unverified token. The token itself is never stored.
-- Rows written before this migration (or by an older replica in a rolling update) have null: not verified.
alter table decision_record add column identity_verified boolean;
alter table decision_record add column workload_spiffe_id text;
