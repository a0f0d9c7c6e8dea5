-- Step-up approval workflow: an append-only history of every approval transition, and a
-- transactional outbox for the approval webhook (written in the transaction of the transition,
-- delivered asynchronously with retries, so a failing receiver never loses or blocks an approval).

-- Who did what to an approval, when and why. Append-only for the application role.
create table approval_event (
    id          bigserial   primary key,
    approval_id uuid        not null references approval (id),
    tenant_id   text        not null,
    event       text        not null check (event in ('REQUESTED', 'VOTED', 'APPROVED', 'DENIED', 'EXPIRED', 'CONSUMED', 'CANCELLED')),
    status      text        not null,
    actor       text        not null,
    reason      text,
    at          timestamptz not null default now()
);
create index approval_event_approval on approval_event (approval_id, id);

-- Webhook deliveries still to make (one per approval event while a webhook is configured).
create table approval_webhook_outbox (
    id              bigserial   primary key,
    event_id        bigint      not null references approval_event (id),
    tenant_id       text        not null,
    payload         jsonb       not null,
    attempts        integer     not null default 0,
    next_attempt_at timestamptz not null default now(),
    delivered_at    timestamptz,
    failed_at       timestamptz,
    last_error      text,
    created_at      timestamptz not null default now()
);
create index approval_webhook_outbox_due on approval_webhook_outbox (next_attempt_at)
    where delivered_at is null and failed_at is null;

-- The sweeper looks for open requests past their expiry.
create index approval_open_expiry on approval (expires_at) where status in ('PENDING', 'APPROVED');

do $$
begin
    if exists (select 1 from pg_roles where rolname = '${app_role}') and current_user <> '${app_role}' then
        grant select, insert on approval_event to ${app_role};
        grant select, insert, update on approval_webhook_outbox to ${app_role};
        grant usage on all sequences in schema public to ${app_role};
    end if;
end
$$;
