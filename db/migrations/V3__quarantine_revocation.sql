-- Quarantine cascade: track revocation of issued credentials so that none is missed or silently dropped.
alter table issued_credential
    add column revoke_requested_at   timestamptz,
    add column revocation_attempts   integer not null default 0,
    add column last_revocation_error text;

create index issued_credential_pending_revocation on issued_credential (revoke_requested_at)
    where revoke_requested_at is not null and revoked_at is null;
create index issued_credential_expiry on issued_credential (expires_at);

-- The quarantine history records the whole cascade, not only the state changes.
alter table quarantine_event drop constraint quarantine_event_action_check;
alter table quarantine_event add constraint quarantine_event_action_check
    check (action in ('QUARANTINE', 'RELEASE', 'CANCEL_APPROVALS', 'REVOKE', 'REVOKE_FAILED'));
