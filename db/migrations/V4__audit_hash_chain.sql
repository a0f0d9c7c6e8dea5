-- Tamper evidence for the decision audit trail: a hash chain per tenant.
-- record_hash = sha256(previous record_hash || canonical content); the first link chains from 'genesis'.
-- The head row per tenant serialises writers of that tenant (row lock of the upsert) in one statement.
create table audit_chain_head (
    tenant_id text    primary key,
    seq       bigint  not null,
    last_hash text    not null
);

alter table decision_record
    add column chain_seq   bigint,
    add column record_hash text;
create unique index decision_record_chain on decision_record (tenant_id, chain_seq);

do $$
begin
    if exists (select 1 from pg_roles where rolname = '${app_role}') and current_user <> '${app_role}' then
        grant select, insert, update on audit_chain_head to ${app_role};
        -- The trail stays append-only for the application, whatever was granted before.
        revoke update, delete, truncate on decision_record from ${app_role};
    end if;
end
$$;
