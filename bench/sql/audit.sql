-- The audit INSERT of AuditTrail.recordDecision for a DENY (no credential): chain-head upsert of the
-- tenant, decision_record row, no issued_credential row. :content has the length of AuditChain.content.
\set a random(1, :agents)
with head as (
    insert into audit_chain_head as h (tenant_id, seq, last_hash)
    values ('bench', 1, encode(sha256(convert_to('genesis' || repeat('c', 330), 'UTF8')), 'hex'))
    on conflict (tenant_id) do update
    set seq = h.seq + 1, last_hash = encode(sha256(convert_to(h.last_hash || repeat('c', 330), 'UTF8')), 'hex')
    returning seq, last_hash),
decision as (
    insert into decision_record (id, tenant_id, agent_id, task_id, parent_decision_id, chain_depth, tool,
        action, target_system, target_resource, classification_declared, classification_stored,
        classification_effective, outcome, reasons, obligations, approval_id, policy_revision, caller,
        credential_accessor_hash, credential_ttl_seconds, credential_expires_at, credential_num_uses,
        credential_wrapped, trace_id, decided_at, chain_seq, record_hash)
    select gen_random_uuid(), 'bench', 'bench-agent-' || cast(:a as text), 'bench-task', null, 6, 'crm.contacts.read',
        'read', 'crm', 'contacts/42', 'internal', 'internal', 'internal', 'DENY', array['chain_depth_exceeded'],
        array[]::text[], null, '55c12bb9044a1807', 'bench-caller', null, null, null, null, null,
        '0af7651916cd43dd8448eb211c80319c', now(), head.seq, head.last_hash
    from head
    returning id)
insert into issued_credential (accessor, tenant_id, agent_id, task_id, decision_id, policies, issued_at, expires_at)
select cast(null as text), 'bench', 'bench-agent-' || cast(:a as text), 'bench-task', id, array[]::text[], now(), now()
from decision where cast(null as text) is not null;
