-- The decision context SELECT of DecisionContextLoader.load, one agent chosen at random per transaction.
-- Bound like the PDP binds it: tenant/agent/system/resource as text, approval and held credential null
-- (the DENY path's request names neither), both windows 1 minute
-- (the PDP passes them in milliseconds). Keep in step with DecisionContextLoader: this is a copy.
\set a random(1, :agents)
select now() as db_now,
       a.agent_id is not null as registered, a.owner, a.allowed_tools, a.home_systems, a.max_chain_depth,
       coalesce(q.active, false) as quarantined,
       rc.owner_tenant, rc.classification,
       ap.id as approval_id, ap.status as approval_status, ap.fingerprint as approval_fingerprint,
       ap.expires_at <= now() as approval_expired, ap.consumed_at as approval_consumed_at,
       held.decision_id as held_decision_id, held.task_id as held_task_id, held.policies as held_policies,
       held.expires_at as held_expires_at, held.num_uses as held_num_uses, held.wrapped as held_wrapped,
       held.reusable and held.num_uses is not null as held_reusable,
       held.revoked_at is null and held.revoke_requested_at is null and held.expires_at > now() as held_live,
       greatest(0, floor(extract(epoch from held.expires_at - now())))::bigint as held_remaining_seconds,
       encode(sha256(convert_to(held.accessor, 'UTF8')), 'hex') as held_accessor_hash,
       activity.denies, activity.decisions
from (values (1)) as one (x)
left join agent a on a.tenant_id = 'bench' and a.agent_id = 'bench-agent-' || cast(:a as text)
left join quarantine q on q.tenant_id = 'bench' and q.agent_id = 'bench-agent-' || cast(:a as text)
left join lateral (
    select owner_tenant, classification from resource_classification
    where system = 'crm' and starts_with('contacts/42', resource_prefix)
    order by length(resource_prefix) desc limit 1) rc on true
left join approval ap on ap.id = cast(null as uuid) and ap.tenant_id = 'bench'
left join lateral (
    select * from issued_credential
    where decision_id = cast(null as uuid) and tenant_id = 'bench' and agent_id = 'bench-agent-' || cast(:a as text)
    limit 1) held on true
cross join lateral (
    select count(*) filter (where outcome = 'DENY' and decided_at > now() - interval '1 minute') as denies,
           count(*) filter (where decided_at > now() - interval '1 minute') as decisions
    from decision_record
    where tenant_id = 'bench' and agent_id = 'bench-agent-' || cast(:a as text)
      and decided_at > now() - interval '1 minute'
      and not ('request_refused' = any (reasons))) activity;
