-- Per-task credential reuse: a decision may confirm a credential the enforcement point already holds
-- instead of minting one. The PDP looks the held credential up by the decision that issued it and needs
-- to know what it was (uses, wrapping) and whether it may be reused at all (never when bound to an approval).
alter table issued_credential
    add column num_uses integer,
    add column wrapped  boolean,
    add column reusable boolean not null default false;

create index issued_credential_decision on issued_credential (decision_id);

-- The decision that confirmed a held credential names the decision that issued it (hashed into its chain link).
alter table decision_record add column credential_reused_from uuid;
