-- A fresh database is fast from the first decision (issue 18), second part (the first: V28). The decide path's context
-- read finds the parent decision, the presented approval and the held credential by their keys. As joins, their plans
-- depended on statistics a new database does not have (FreshDatabasePlanTest, auto_explain in bench/fresh.sh):
--
-- 1. Planned while the tables were empty and never analysed (a prepared statement's generic plan, kept per session),
--    each used an index on (tenant_id, ...) with the key left as a filter: every decision read all of its tenant's
--    decision records (110,000 buffer hits and 180-430 ms a decision at 100k rows), approvals and credentials.
-- 2. Planned after the tables were vacuumed or analysed while empty, each was a sequential scan.
--
-- Each lookup is now a function, like decision_activity, whose query can reach the row only through its key: the key
-- is the only condition inside a fenced subquery (OFFSET 0: no other condition is pushed into it, so no other index
-- matches), and sequential and bitmap scans are off, so the only plan is the key's index, whatever the statistics say.
-- The other conditions are checked on the one row found. Plans are cached per session, as any prepared statement's.

-- The parent decision named by a request: this tenant's, of the same agent or the same task; never a refused request.
create function decision_parent(p_tenant text, p_parent uuid, p_agent text, p_task text, p_refusal_cause text,
                                p_refused text)
    returns table (id uuid, chain_depth integer)
    language plpgsql stable parallel safe rows 1
    set enable_seqscan = off
    set enable_bitmapscan = off
as $$
begin
    return query
    select d.id, d.chain_depth
    from (select r.id, r.tenant_id, r.agent_id, r.task_id, r.chain_depth, r.cause, r.reasons
          from decision_record r where r.id = p_parent offset 0) d
    where d.tenant_id = p_tenant and (d.agent_id = p_agent or d.task_id = p_task)
      and d.chain_depth >= 0 and d.cause is distinct from p_refusal_cause
      and not (p_refused = any (d.reasons));
end
$$;

-- The approval a request presents, in this tenant only; expired by the database's clock.
create function approval_presented(p_tenant text, p_approval uuid)
    returns table (id uuid, status text, fingerprint text, expired boolean, consumed_at timestamptz)
    language plpgsql stable parallel safe rows 1
    set enable_seqscan = off
    set enable_bitmapscan = off
as $$
begin
    return query
    select a.id, a.status, a.fingerprint, a.expires_at <= now(), a.consumed_at
    from (select * from approval x where x.id = p_approval offset 0) a
    where a.tenant_id = p_tenant;
end
$$;

-- The credential a request says it holds (named by the decision that minted it): this tenant's and agent's only.
create function credential_held(p_tenant text, p_agent text, p_decision uuid)
    returns setof issued_credential
    language plpgsql stable parallel safe rows 1
    set enable_seqscan = off
    set enable_bitmapscan = off
as $$
begin
    return query
    select c.*
    from (select * from issued_credential x where x.decision_id = p_decision offset 0) c
    where c.tenant_id = p_tenant and c.agent_id = p_agent
    limit 1;
end
$$;
