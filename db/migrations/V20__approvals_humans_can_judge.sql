-- Approvals a human can judge (issue 16).
-- 1. What the approvers see: the task's intent, the tool's schema version, the target, the arguments (with the
--    fields the tool's schema marks sensitive redacted; the raw arguments are bound by the fingerprint, never
--    stored) and the policy's reasons. requested_by, agent_owner and approval_vote.approver hold principal ids
--    (issuer|subject, canonical) from now on; older rows hold bare subjects of the PDP's own issuer.
alter table approval
    add column task_intent         text,
    add column tool_schema_version text,
    add column target_system       text,
    add column target_resource     text,
    add column arguments           jsonb,
    add column policy_reasons      text[]      not null default '{}',
    -- 2. An approval spent by a decision whose credential could not be minted is given back once.
    add column mint_retries        integer     not null default 0,
    -- 3. The reminder before expiry is sent once.
    add column reminded_at         timestamptz;

alter table approval_event drop constraint if exists approval_event_event_check;
alter table approval_event add constraint approval_event_event_check
    check (event in ('REQUESTED', 'VOTED', 'APPROVED', 'DENIED', 'EXPIRED', 'CONSUMED', 'CANCELLED', 'RESTORED',
                     'REMINDER'));

-- 4. Webhooks to several receivers: one outbox row per event and receiver, delivered in order per approval and
--    receiver (the approval id makes that order cheap to find).
alter table approval_webhook_outbox
    add column receiver    text not null default 'default',
    add column approval_id uuid;
create index approval_webhook_outbox_order on approval_webhook_outbox (receiver, approval_id, id)
    where delivered_at is null and failed_at is null;

-- The sweeper looks for pending requests due a reminder.
create index approval_pending_reminder on approval (expires_at) where status = 'PENDING' and reminded_at is null;

do $$
begin
    if exists (select 1 from pg_roles where rolname = '${app_role}') and current_user <> '${app_role}' then
        grant update (mint_retries, reminded_at) on approval to ${app_role};
    end if;
end
$$;
