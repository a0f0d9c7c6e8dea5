-- Demo data for `make run`: tenant "demo". Idempotent (safe to run any number of times).
-- Runs as the schema owner after Flyway has created the tables.

-- agent-7, owned by alice, may use four tools; its home system is crm.
insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems)
values ('demo', 'agent-7', 'alice',
        array['crm.contacts.read', 'crm.contacts.update', 'crm.contacts.delete', 'payments.transfer'],
        array['crm'])
on conflict do nothing;

-- Everything under crm contacts/vip/ is confidential, whatever a caller declares.
insert into resource_classification (owner_tenant, system, resource_prefix, classification)
values ('demo', 'crm', 'contacts/vip/', 'confidential')
on conflict do nothing;
