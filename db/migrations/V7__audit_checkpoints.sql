-- Signed checkpoints anchor each tenant's audit chain outside the database: the PDP signs
-- {tenant, seq, head_hash, signed_at} with a Vault/OpenBao transit key that no database role can reach.
-- A verifier checks every stored checkpoint's signature with that key and that the chain still has
-- exactly head_hash at seq, so the schema owner can no longer cut the tail, rewind the head or
-- recompute the whole chain below a checkpoint unseen.
create table audit_checkpoint (
    tenant_id   text        not null,
    seq         bigint      not null,
    head_hash   text        not null,
    signed_at   timestamptz not null,
    key_version integer     not null,
    -- Vault's signature string, e.g. vault:v1:<base64>; its prefix names the key version.
    signature   text        not null,
    primary key (tenant_id, seq)
);

-- ShedLock (net.javacrumbs.shedlock, JDBC provider with the database's clock): one replica signs per interval.
create table shedlock (
    name       varchar(64)  not null primary key,
    lock_until timestamp    not null,
    locked_at  timestamp    not null,
    locked_by  varchar(255) not null
);

do $$
begin
    if exists (select 1 from pg_roles where rolname = '${app_role}') and current_user <> '${app_role}' then
        -- Checkpoints are append-only for the application.
        grant select, insert on audit_checkpoint to ${app_role};
        revoke update, delete, truncate on audit_checkpoint from ${app_role};
        grant select, insert, update on shedlock to ${app_role};
    end if;
end
$$;
