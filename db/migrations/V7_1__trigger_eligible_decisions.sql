-- Hardening of the kill switch (issue 12, points 3 and 4).
--
-- 1. What a decision's outcome rests on. Only the policy's own verdicts about a registered agent feed the
--    automatic quarantine triggers (DENY burst, abnormal rate): a DENY because OPA, Vault or the approval
--    store failed, a refused request, a tenant mismatch, a 429, the DENY of an already quarantined agent or
--    any decision about an unregistered agent id says nothing about the agent's behaviour.
--    Rows written before this migration (or by a replica not yet upgraded during a rolling update) have no
--    cause; the trigger query counts them as it did before (every record but refusals). They are not
--    back-filled: the cause is part of a record's hashed content, and rewriting old rows would break their
--    links in the audit chain.
alter table decision_record add column cause text
    check (cause in ('policy', 'dependency_failure', 'refusal', 'quarantine', 'unregistered_agent'));

-- 2. No grant is recorded for an agent whose quarantine committed first. A quarantine takes the agent's
--    advisory lock exclusively for its whole transaction; the statement that records a grant first takes it
--    shared, then reads the quarantine state with a fresh snapshot (the function is VOLATILE, so under READ
--    COMMITTED its query sees what committed while it waited, unlike the calling statement's own snapshot).
--    Either the grant is recorded first (the quarantine, waiting for it, then finds its credential and
--    revokes it), or the quarantine commits first (the recording sees it and records nothing; the PDP
--    answers DENY and revokes the token it minted). Two ids whose keys collide only wait for each other.
create function agent_lock_key(p_tenant text, p_agent text) returns integer
    language sql immutable parallel safe
    return hashtext(p_tenant || chr(31) || p_agent);

create function quarantine_lock(p_tenant text, p_agent text) returns void
    language plpgsql volatile
as $$
begin
    perform pg_advisory_xact_lock(hashtext('agent-pdp quarantine'), agent_lock_key(p_tenant, p_agent));
end
$$;

create function quarantine_holds(p_tenant text, p_agent text) returns boolean
    language plpgsql volatile
as $$
begin
    perform pg_advisory_xact_lock_shared(hashtext('agent-pdp quarantine'), agent_lock_key(p_tenant, p_agent));
    return exists (select 1 from quarantine where tenant_id = p_tenant and agent_id = p_agent and active);
end
$$;
