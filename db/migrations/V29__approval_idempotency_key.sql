-- The enforcement point's idempotency key of the decide attempt that opened an approval request
-- (DecisionRequest.idempotency_key). While the request is open (PENDING or APPROVED) the key names it within its
-- tenant and agent: a retried STEP_UP with the key gets the same request; the key with another action is refused.
-- Once the request is closed the key is free again. The app role inserts it with the row (its table-wide INSERT)
-- and never updates it, so its grants do not change.
alter table approval add column idempotency_key text;
create unique index approval_open_idempotency_key on approval (tenant_id, agent_id, idempotency_key)
    where idempotency_key is not null and status in ('PENDING', 'APPROVED');
