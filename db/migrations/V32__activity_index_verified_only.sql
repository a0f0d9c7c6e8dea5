-- The quarantine triggers' count (decision_activity, V28) counts only records that carried the agent's verified
-- workload identity (V23), but its index held every record: a decide token without the agent's JWT-SVID, whose
-- requests are all recorded (DENY workload_identity_required, identity_verified false) up to the per-agent rate
-- limit, made every later decision of that agent walk the whole flood of its window (5,000 records: 5,115 buffers per
-- count, UnverifiedFloodTest), on the PostgreSQL every tenant shares. The count's index now holds only verified
-- records; its query's "r.identity_verified" implies the predicate, so the plan is the same index scan, and a record
-- that cannot count is neither read by the count nor written into its index.
--
-- Run outside a transaction (V32__activity_index_verified_only.sql.conf) so that neither index change blocks the
-- decisions being recorded meanwhile: old pods keep serving during the migration Job (docs/operations.md). A run
-- that failed halfway leaves at most an invalid copy of the new index, which the first statement drops on the next
-- attempt (after flyway repair). Every name is qualified with the schema being migrated: an unqualified
-- "drop index if exists" is resolved along the search path and, migrating another schema of the same database,
-- dropped public's index (RegistryMigrationTest).
drop index concurrently if exists ${flyway:defaultSchema}.decision_record_verified_activity;
create index concurrently decision_record_verified_activity on ${flyway:defaultSchema}.decision_record
    (tenant_id, agent_id, decided_at) where identity_verified;
drop index concurrently if exists ${flyway:defaultSchema}.decision_record_agent_time;
