-- Core schema of agent-pdp. The application role (placeholder app_role) gets only what it needs:
-- the decision audit trail is append-only for it (INSERT/SELECT, never UPDATE/DELETE).

-- Agents known to a tenant: owner and tool manifest feed the policy.
create table agent (
    tenant_id       text        not null,
    agent_id        text        not null,
    owner           text        not null,
    allowed_tools   text[]      not null default '{}',
    home_systems    text[]      not null default '{}',
    max_chain_depth integer,
    created_at      timestamptz not null default now(),
    primary key (tenant_id, agent_id)
);

-- Data classification of targets. Systems are global names; a resource prefix belongs to one tenant.
-- The most specific (longest) prefix that matches a resource wins.
create table resource_classification (
    owner_tenant    text not null,
    system          text not null,
    resource_prefix text not null,
    classification  text not null check (classification in ('public', 'internal', 'confidential', 'restricted')),
    primary key (system, resource_prefix)
);

-- Current quarantine state per agent (history lives in quarantine_event).
create table quarantine (
    tenant_id      text        not null,
    agent_id       text        not null,
    active         boolean     not null,
    reason         text        not null,
    changed_by     text        not null,
    changed_at     timestamptz not null default now(),
    quarantined_by text,
    primary key (tenant_id, agent_id)
);

create table quarantine_event (
    id         bigserial primary key,
    tenant_id  text        not null,
    agent_id   text        not null,
    action     text        not null check (action in ('QUARANTINE', 'RELEASE')),
    reason     text        not null,
    actor      text        not null,
    at         timestamptz not null default now()
);
create index quarantine_event_agent on quarantine_event (tenant_id, agent_id, at);

-- Human approvals for STEP_UP decisions, bound to the exact action they approve.
create table approval (
    id                  uuid        primary key,
    tenant_id           text        not null,
    agent_id            text        not null,
    task_id             text        not null,
    tool                text        not null,
    action              text        not null,
    target_hash         text        not null,
    classification      text        not null,
    fingerprint         text        not null,
    status              text        not null check (status in ('PENDING', 'APPROVED', 'DENIED', 'EXPIRED', 'CONSUMED', 'CANCELLED')),
    required_approvals  integer     not null default 1,
    requested_by        text        not null,
    agent_owner         text,
    decision_id         uuid        not null,
    created_at          timestamptz not null default now(),
    expires_at          timestamptz not null,
    decided_at          timestamptz,
    consumed_at         timestamptz,
    status_reason       text
);
create index approval_tenant_status on approval (tenant_id, status, created_at);
-- One open request per action fingerprint makes STEP_UP idempotent.
create unique index approval_open_fingerprint on approval (tenant_id, fingerprint) where status in ('PENDING', 'APPROVED');

create table approval_vote (
    approval_id uuid        not null references approval (id),
    approver    text        not null,
    verdict     text        not null check (verdict in ('APPROVE', 'DENY')),
    comment     text        not null,
    at          timestamptz not null default now(),
    primary key (approval_id, approver)
);

-- The decision audit trail: one row per decision, written before the response leaves.
create table decision_record (
    id                       uuid        primary key,
    tenant_id                text        not null,
    agent_id                 text        not null,
    task_id                  text        not null,
    parent_decision_id       uuid,
    chain_depth              integer     not null,
    tool                     text        not null,
    action                   text        not null,
    target_system            text        not null,
    target_resource          text        not null,
    classification_declared  text        not null,
    classification_stored    text,
    classification_effective text        not null,
    outcome                  text        not null check (outcome in ('ALLOW', 'DENY', 'STEP_UP', 'CONSTRAIN')),
    reasons                  text[]      not null,
    obligations              text[]      not null,
    approval_id              uuid,
    policy_revision          text,
    caller                   text        not null,
    credential_accessor_hash text,
    credential_ttl_seconds   integer,
    credential_expires_at    timestamptz,
    credential_num_uses      integer,
    credential_wrapped       boolean,
    trace_id                 text,
    decided_at               timestamptz not null
);
create index decision_record_tenant_time on decision_record (tenant_id, decided_at);
create index decision_record_agent_time on decision_record (tenant_id, agent_id, decided_at);

-- Live credentials, tracked by accessor so that revocation never misses one.
create table issued_credential (
    accessor    text        primary key,
    tenant_id   text        not null,
    agent_id    text        not null,
    task_id     text        not null,
    decision_id uuid        not null,
    policies    text[]      not null,
    issued_at   timestamptz not null,
    expires_at  timestamptz not null,
    revoked_at  timestamptz
);
create index issued_credential_agent on issued_credential (tenant_id, agent_id) where revoked_at is null;

do $$
begin
    if exists (select 1 from pg_roles where rolname = '${app_role}') and current_user <> '${app_role}' then
        grant select, insert on decision_record to ${app_role};
        grant select, insert, update, delete on agent, resource_classification, issued_credential to ${app_role};
        grant select, insert, update on quarantine, approval, approval_vote to ${app_role};
        grant select, insert on quarantine_event to ${app_role};
        grant usage on all sequences in schema public to ${app_role};
    end if;
end
$$;
