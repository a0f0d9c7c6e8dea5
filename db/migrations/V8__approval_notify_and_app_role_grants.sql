-- 1. Approval change notifications: every change of an approval's status or expiry notifies its id on the
--    channel approval_changed, delivered at commit to each replica's listener, which wakes the long-polls
--    waiting on that approval (instead of each wait re-reading the row in a loop).
create function approval_changed_notify() returns trigger
    language plpgsql as $$
begin
    perform pg_notify('approval_changed', new.id::text);
    return null;
end
$$;

create trigger approval_changed
    after update of status, expires_at on approval
    for each row
    when (old.status is distinct from new.status or old.expires_at is distinct from new.expires_at)
    execute function approval_changed_notify();

-- 2. Least privilege for the application role: no UPDATE or DELETE it does not issue. Where it updates only
--    some columns, it may update only those (column grants; a table-wide UPDATE grant would cover them all).
--    What the application issues (grep of the Java SQL), per table:
--      agent, resource_classification  SELECT only (the registry is written by operators, not the PDP)
--      approval                        UPDATE of status, status_reason, decided_at, consumed_at, expires_at
--      approval_vote                   INSERT only (ON CONFLICT DO NOTHING needs no UPDATE)
--      quarantine                      upsert/UPDATE of active, reason, changed_by, changed_at, quarantined_by
--      issued_credential               UPDATE of the revocation columns; DELETE of long-expired rows (cleanup)
--      audit_chain_head                upsert of seq, last_hash
--      approval_webhook_outbox         UPDATE of the delivery columns
--      decision_record, quarantine_event, approval_event: append-only already (SELECT, INSERT)
--    TRUNCATE, REFERENCES and TRIGGER were never granted. Tables added after V6 grant for themselves.
do $$
begin
    if exists (select 1 from pg_roles where rolname = '${app_role}') and current_user <> '${app_role}' then
        revoke update, delete, truncate on agent, resource_classification, approval, approval_vote, quarantine,
            quarantine_event, issued_credential, audit_chain_head, decision_record, approval_event,
            approval_webhook_outbox from ${app_role};

        grant update (status, status_reason, decided_at, consumed_at, expires_at) on approval to ${app_role};
        grant update (active, reason, changed_by, changed_at, quarantined_by) on quarantine to ${app_role};
        grant update (revoke_requested_at, revoked_at, revocation_attempts, last_revocation_error)
            on issued_credential to ${app_role};
        grant delete on issued_credential to ${app_role};
        grant update (seq, last_hash) on audit_chain_head to ${app_role};
        grant update (attempts, next_attempt_at, delivered_at, failed_at, last_error)
            on approval_webhook_outbox to ${app_role};
    end if;
end
$$;
