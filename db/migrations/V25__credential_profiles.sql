-- Credential profiles (issue 15): a registry entry kind of its own, per tenant, versioned and changed only
-- through the registry API like every other kind. A tool names its profile (tool.credential_profile); the
-- profile says what a credential minted for that tool may be:
--   kind 'token':   Vault/OpenBao policies (short names; the Vault policy is tenant.<tenant>.<name>), caps on
--                   TTL and uses, response-wrapped or not, and whether it is bound to the agent (per_agent: the
--                   token carries the entity alias <tenant>/agents/<agent>, which templated policies resolve);
--   kind 'dynamic': a secrets-engine role (<mount>/creds/<tenant>.<role>), whose lease the PDP records and
--                   revokes by lease id; a TTL cap; always wrapped.
create table credential_profile (
    tenant_id       text        not null,
    name            text        not null,
    kind            text        not null check (kind in ('token', 'dynamic')),
    policies        text[]      not null default '{}',
    per_agent       boolean     not null default false,
    mount           text,
    role            text,
    max_ttl_seconds integer     not null check (max_ttl_seconds between 1 and 86400),
    max_uses        integer     check (max_uses between 1 and 1000),
    wrapped         boolean     not null default true,
    version         bigint      not null default 1,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    updated_by      text        not null,
    primary key (tenant_id, name),
    check ((kind = 'token' and cardinality(policies) > 0 and role is null and mount is null and max_uses is not null)
        or (kind = 'dynamic' and cardinality(policies) = 0 and role is not null and mount is not null and wrapped
            and not per_agent))
);

alter table registry_change drop constraint registry_change_kind_check;
alter table registry_change add constraint registry_change_kind_check
    check (kind in ('agent', 'tool', 'system', 'enforcement_point', 'classification', 'credential_profile'));

do $$
begin
    if exists (select 1 from pg_roles where rolname = '${app_role}') and current_user <> '${app_role}' then
        grant select, insert, update, delete on credential_profile to ${app_role};
    end if;
end
$$;
