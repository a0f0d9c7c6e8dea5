-- A fresh database is fast from the first decision (issue 18). The decide path's context read counts an agent's
-- recent decisions (the quarantine triggers). Its plan must not depend on statistics that a new database does not
-- have yet:
--
-- 1. Until decision_record is first analysed, (tenant_id, decided_at) and (tenant_id, agent_id, decided_at) cost
--    the same to the planner, and a generic plan made on the empty table picked the former: it then read every
--    recent record of the tenant per decision (10 ms and 8,500 buffer hits at bench rates) until autovacuum's first
--    ANALYZE replaced the plan. No query uses that index: it goes.
-- 2. A table that was vacuumed or analysed while empty has statistics that say "no rows": a generic plan made then is
--    a sequential scan, kept as the table grows. The count is therefore a function whose plan (cached per session,
--    like any prepared statement's) is made with sequential and bitmap scans off, so the only plan is the index scan
--    on (tenant_id, agent_id, decided_at), whatever the statistics say.
drop index if exists decision_record_tenant_time;

-- Only the policy's verdicts about a registered agent feed the triggers (AuditTrail.Cause): never outages, refusals,
-- quarantine DENYs. Records written without a cause (before V7_1, or by an older replica) count as they did then.
-- Only decisions that carried the agent's verified workload identity count (V23, issue 14): one decide token cannot
-- quarantine an agent whose SVID it does not have.
create function decision_activity(p_tenant text, p_agent text, p_deny_millis bigint, p_rate_millis bigint,
                                  p_policy_cause text, p_refused text)
    returns table (denies bigint, decisions bigint)
    language plpgsql stable parallel safe rows 1
    set enable_seqscan = off
    set enable_bitmapscan = off
as $$
begin
    return query
    select count(*) filter (where r.outcome = 'DENY' and r.decided_at > now() - p_deny_millis * interval '1 millisecond'),
           count(*) filter (where r.decided_at > now() - p_rate_millis * interval '1 millisecond')
    from decision_record r
    where r.tenant_id = p_tenant and r.agent_id = p_agent
      and r.identity_verified
      and r.decided_at > now() - greatest(p_deny_millis, p_rate_millis) * interval '1 millisecond'
      and (r.cause = p_policy_cause or r.cause is null and not (p_refused = any (r.reasons)));
end
$$;
