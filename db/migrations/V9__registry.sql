-- The registry (issue 13): agents, tools, target systems, enforcement points and classification rules,
-- all per tenant, versioned (ETag) and changed only through the registry API, whose every change is
-- recorded in an append-only, hash-chained change log per tenant. Existing rows are carried over.

-- Agents: the V1 table gains what the registry knows about them. owner stays the owner's subject (used
-- for separation of duties); owner_issuer completes the principal id.
alter table agent
    add column display_name text,
    add column owner_issuer text,
    add column spiffe_ids   text[]      not null default '{}',
    add column enabled      boolean     not null default true,
    add column labels       jsonb       not null default '{}',
    add column version      bigint      not null default 1,
    add column updated_at   timestamptz not null default now(),
    add column updated_by   text        not null default 'migration';

-- Target systems: how names of that system are compared. A case-insensitive system's names are folded
-- (NFC, then Locale.ROOT lower case) before lookup; its own name is stored folded.
create table target_system (
    tenant_id      text        not null,
    name           text        not null,
    case_sensitive boolean     not null,
    display_name   text,
    version        bigint      not null default 1,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    updated_by     text        not null,
    primary key (tenant_id, name)
);

-- Tools: a call names a tool; the registry says which system it acts on and which action kinds it may do.
create table tool (
    tenant_id          text        not null,
    name               text        not null,
    target_system      text        not null,
    action_kinds       text[]      not null,
    risk_tier          text        not null check (risk_tier in ('low', 'medium', 'high', 'critical')),
    read_only          boolean     not null default false,
    destructive        boolean     not null default false,
    credential_profile text,
    argument_schema    text,
    version            bigint      not null default 1,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    updated_by         text        not null,
    primary key (tenant_id, name)
);

-- Enforcement points: the principal of a caller with scope decide and the agents it may decide for.
create table enforcement_point (
    tenant_id       text        not null,
    id              uuid        not null,
    principal       text        not null,
    agent_ids       text[]      not null default '{}',
    agent_selectors jsonb       not null default '[]',
    enabled         boolean     not null default true,
    version         bigint      not null default 1,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    updated_by      text        not null,
    primary key (tenant_id, id),
    unique (tenant_id, principal)
);

-- Classification rules: a tenant's own, never another's. A prefix covers itself and everything below it
-- on segment boundaries; the longest matching prefix wins. The folded columns serve case-insensitive systems.
create table classification_rule (
    tenant_id       text        not null,
    id              uuid        not null,
    system          text        not null,
    resource_prefix text        not null,
    system_folded   text        not null,
    prefix_folded   text        not null,
    level           text        not null check (level in ('public', 'internal', 'confidential', 'restricted')),
    version         bigint      not null default 1,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    updated_by      text        not null,
    primary key (tenant_id, id),
    unique (tenant_id, system, resource_prefix)
);
create index classification_rule_lookup on classification_rule (tenant_id, system);
create index classification_rule_folded_lookup on classification_rule (tenant_id, system_folded);

-- Carry the V1 rules over: the owner tenant becomes the rule's tenant; the old trailing-'/' convention
-- ("contacts/vip/") becomes the canonical prefix ("contacts/vip"), which also covers the collection itself.
-- Folded columns: PostgreSQL's lower() stands in for the PDP's fold (NFC, Locale.ROOT lower case) here;
-- they agree on ASCII names, and a rule saved again through the registry is folded by the PDP.
insert into classification_rule (tenant_id, id, system, resource_prefix, system_folded, prefix_folded, level, updated_by)
select owner_tenant, gen_random_uuid(), system, btrim(resource_prefix, '/'), lower(system),
       lower(btrim(resource_prefix, '/')), classification, 'migration'
from resource_classification
where btrim(resource_prefix, '/') <> ''
on conflict (tenant_id, system, resource_prefix) do nothing;
drop table resource_classification;

-- Carry the V1 tool manifests over: every tool an agent lists becomes a registered tool of its tenant,
-- acting on the system its name starts with when that is one of the agent's home systems, else on the
-- agent's first home system; all action kinds allowed (as before, when nothing was checked); risk tier
-- high until an operator reviews it.
insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, updated_by)
select distinct on (a.tenant_id, t.name) a.tenant_id, t.name,
       case when split_part(t.name, '.', 1) = any (a.home_systems) or cardinality(a.home_systems) = 0
            then split_part(t.name, '.', 1) else a.home_systems[1] end,
       array['read', 'write', 'delete', 'execute', 'payment', 'privilege_grant', 'secret_read'],
       'high', 'migration'
from agent a cross join lateral unnest(a.allowed_tools) as t (name)
order by a.tenant_id, t.name, a.agent_id;

-- The registry change log: one link per change, sha256(previous || canonical content) from 'genesis'.
-- before/after are stored as the exact JSON text that was hashed.
create table registry_change (
    tenant_id   text        not null,
    seq         bigint      not null,
    kind        text        not null check (kind in ('agent', 'tool', 'system', 'enforcement_point', 'classification')),
    entry_id    text        not null,
    action      text        not null check (action in ('CREATE', 'REPLACE', 'DELETE')),
    actor       text        not null,
    at          timestamptz not null,
    before_json text,
    after_json  text,
    record_hash text        not null,
    primary key (tenant_id, seq)
);

create table registry_change_head (
    tenant_id text   primary key,
    seq       bigint not null,
    last_hash text   not null
);

do $$
begin
    if exists (select 1 from pg_roles where rolname = '${app_role}') and current_user <> '${app_role}' then
        grant select, insert, update, delete on agent, target_system, tool, enforcement_point, classification_rule
            to ${app_role};
        grant select, insert on registry_change to ${app_role};
        grant select, insert, update on registry_change_head to ${app_role};
    end if;
end
$$;
