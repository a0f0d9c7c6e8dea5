package io.agentpdp.quarantine;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

import io.agentpdp.approval.Approvals;
import io.agentpdp.credential.CredentialIssuer;
import io.agentpdp.security.Principals;
import io.agentpdp.web.Problems;

/**
 * The kill switch. Quarantining an agent commits its state first (so every replica denies from the
 * next decision on), then cancels its open approvals and revokes every live credential (token accessor or
 * dynamic-secret lease id), many in parallel.
 * A revocation that fails is kept, retried and reported; it never disappears silently. The quarantine's
 * transaction holds the agent's quarantine lock (db function {@code quarantine_lock}), which the
 * recording of every grant takes shared: a grant is either recorded before the quarantine (whose cascade
 * then finds and revokes its credential) or sees it and is not recorded at all.
 */
@Component
public class Quarantine {

    private static final Logger log = LoggerFactory.getLogger(Quarantine.class);

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;
    private final CredentialIssuer credentials;
    private final QuarantineProperties properties;
    private final Approvals approvals;
    private final Principals principals;

    Quarantine(JdbcClient jdbc, TransactionTemplate transactions, CredentialIssuer credentials,
               QuarantineProperties properties, Approvals approvals, Principals principals) {
        this.principals = principals;
        this.approvals = approvals;
        this.jdbc = jdbc;
        this.transactions = transactions;
        this.credentials = credentials;
        this.properties = properties;
    }

    /** Current state of an agent; {@code active=false} when it was never quarantined. */
    public record State(String agentId, boolean active, String reason, String changedBy, Instant changedAt,
                        String quarantinedBy, int pendingRevocations) {
    }

    public record Event(String action, String reason, String actor, Instant at) {
    }

    /** What a quarantine did: approvals cancelled, credentials revoked, revocations still pending. */
    public record Outcome(State state, int approvalsCancelled, int credentialsRevoked, int revocationsPending) {
    }

    /**
     * What the decision context knows about an agent: whether its id is registered, and its recent
     * policy DENYs and policy decisions that carried its verified identity (records of other causes, and
     * decisions without the agent's verified SVID, are never counted).
     */
    public record Activity(boolean agentRegistered, long recentDenies, long recentDecisions) {
    }

    /**
     * The decision being made, as the triggers see it. {@code policyVerdict}: its outcome is the policy's
     * verdict, not a dependency failure, a refusal or the DENY of an agent already quarantined.
     * {@code identityVerified}: the request carried the agent's verified workload identity (JWT-SVID).
     */
    public record Signal(boolean policyVerdict, boolean identityVerified, boolean deny, boolean quarantineRequested,
                         String quarantineReason) {
    }

    /**
     * The sliding windows, so the decision's single query can load {@link Activity}. It counts them back
     * from the database's clock, which also stamps the decisions: a replica's own clock cannot shift them.
     */
    public Duration denyWindow() {
        return properties.denyWindow();
    }

    public Duration rateWindow() {
        return properties.rateWindow();
    }

    /**
     * The automatic triggers, evaluated for a decision before any credential is minted: the policy asks
     * for quarantine, too many DENYs in the window, or an abnormal decision rate. Only a policy verdict
     * about a registered agent can fire one: an outage, a refusal or an unknown id never quarantines
     * (an unregistered id would let any caller create quarantine state at will). And only a request that
     * carried the agent's verified workload identity: whoever holds a decide token of the tenant but not the
     * agent's SVID cannot quarantine it (the activity counts such decisions only, too).
     */
    public Optional<String> trigger(Activity activity, Signal decision) {
        if (!activity.agentRegistered() || !decision.policyVerdict() || !decision.identityVerified()) {
            return Optional.empty();
        }
        if (decision.quarantineRequested()) {
            return Optional.of("policy:" + (decision.quarantineReason() == null ? "requested" : decision.quarantineReason()));
        }
        if (decision.deny() && activity.recentDenies() + 1 >= properties.denyThreshold()) {
            return Optional.of("deny_burst");
        }
        if (activity.recentDecisions() + 1 > properties.rateThreshold()) {
            return Optional.of("abnormal_rate");
        }
        return Optional.empty();
    }

    /** Quarantines the agent (idempotent) and runs the cascade. */
    public Outcome quarantine(String tenant, String agentId, String reason, String actor) {
        int cancelled = transactions.execute(status -> {
            // First: grants being recorded finish (and are found by the cascade below); later ones wait for
            // the commit and then see the quarantine.
            jdbc.sql("select quarantine_lock(:tenant, :agent)").param("tenant", tenant).param("agent", agentId)
                    .query((rs, row) -> 1).single();
            jdbc.sql("""
                    insert into quarantine (tenant_id, agent_id, active, reason, changed_by, changed_at, quarantined_by)
                    values (:tenant, :agent, true, :reason, :actor, now(), :actor)
                    on conflict (tenant_id, agent_id) do update
                    set active = true, reason = excluded.reason, changed_by = excluded.changed_by,
                        changed_at = now(), quarantined_by = excluded.quarantined_by
                    """)
                    .param("tenant", tenant).param("agent", agentId).param("reason", reason).param("actor", actor)
                    .update();
            event(tenant, agentId, "QUARANTINE", reason, actor);
            int n = approvals.cancelOpen(tenant, agentId, actor, "agent quarantined");
            if (n > 0) {
                event(tenant, agentId, "CANCEL_APPROVALS", n + " approval(s) cancelled", actor);
            }
            jdbc.sql("""
                    update issued_credential set revoke_requested_at = coalesce(revoke_requested_at, now())
                    where tenant_id = :tenant and agent_id = :agent and revoked_at is null
                    """).param("tenant", tenant).param("agent", agentId).update();
            return n;
        });
        log.warn("Agent {}/{} quarantined by {}: {}", tenant, agentId, actor, reason);
        int revoked = revokePending(tenant, agentId, null);
        State state = state(tenant, agentId).orElseThrow();
        return new Outcome(state, cancelled, revoked, state.pendingRevocations());
    }

    /**
     * Whether two stored actors (principal ids, or bare names of the PDP's own issuer from before principal ids)
     * are one principal under today's canonical rules: {@code Admin1} is {@code admin1} where case is folded.
     * An actor that is no canonical principal counts as the same, so four-eyes fails closed.
     */
    private boolean samePrincipal(String actor, String quarantinedBy) {
        if (quarantinedBy == null) {
            return false;
        }
        try {
            return principals.stored(actor).equals(principals.stored(quarantinedBy));
        } catch (IllegalArgumentException e) {
            return true;
        }
    }

    /** Releases a quarantined agent; 409 when it is not quarantined, 403 when four-eyes release is violated. */
    public State release(String tenant, String agentId, String reason, String actor) {
        State current = state(tenant, agentId).filter(State::active)
                .orElseThrow(() -> notQuarantined(agentId));
        if (properties.releaseRequiresDifferentPrincipal() && samePrincipal(actor, current.quarantinedBy())) {
            throw new Problems.ApiException(403, "Forbidden",
                    "Release must be done by a different principal than the one who quarantined.");
        }
        transactions.executeWithoutResult(status -> {
            int updated = jdbc.sql("""
                    update quarantine set active = false, reason = :reason, changed_by = :actor, changed_at = now()
                    where tenant_id = :tenant and agent_id = :agent and active
                    """).param("tenant", tenant).param("agent", agentId).param("reason", reason).param("actor", actor).update();
            if (updated != 1) {
                throw notQuarantined(agentId);
            }
            event(tenant, agentId, "RELEASE", reason, actor);
            // A quarantined agent cannot open approvals, so any still open was opened in a race with the
            // quarantine and escaped its cancellation: it must not outlive the quarantine.
            int stale = approvals.cancelOpen(tenant, agentId, actor, "opened before or during the quarantine");
            if (stale > 0) {
                event(tenant, agentId, "CANCEL_APPROVALS", stale + " stale approval(s) cancelled at release", actor);
            }
        });
        log.warn("Agent {}/{} released by {}: {}", tenant, agentId, actor, reason);
        return state(tenant, agentId).orElseThrow();
    }

    public Optional<State> state(String tenant, String agentId) {
        return jdbc.sql("""
                select q.agent_id, q.active, q.reason, q.changed_by, q.changed_at, q.quarantined_by,
                       (select count(*) from issued_credential c where c.tenant_id = q.tenant_id and c.agent_id = q.agent_id
                            and c.revoke_requested_at is not null and c.revoked_at is null) as pending
                from quarantine q where q.tenant_id = :tenant and q.agent_id = :agent
                """).param("tenant", tenant).param("agent", agentId)
                .query((rs, row) -> new State(rs.getString("agent_id"), rs.getBoolean("active"), rs.getString("reason"),
                        rs.getString("changed_by"), rs.getTimestamp("changed_at").toInstant(),
                        rs.getString("quarantined_by"), rs.getInt("pending")))
                .optional();
    }

    public List<Event> history(String tenant, String agentId) {
        return jdbc.sql("""
                select action, reason, actor, at from quarantine_event
                where tenant_id = :tenant and agent_id = :agent order by at, id
                """).param("tenant", tenant).param("agent", agentId)
                .query((rs, row) -> new Event(rs.getString("action"), rs.getString("reason"), rs.getString("actor"),
                        rs.getTimestamp("at").toInstant()))
                .list();
    }

    /**
     * A credential minted by a decision that then found its agent quarantined when recording it: the
     * decision recorded it as withheld (marked for revocation) and answers DENY. Revokes it now; if
     * Vault fails, it stays pending, is reported and retried like any cascade revocation.
     *
     * @return whether it is revoked
     */
    public boolean revokeWithheld(String tenant, String agentId, String accessor) {
        revokePending(tenant, agentId, accessor);
        return jdbc.sql("select revoked_at is not null from issued_credential where accessor = ?").param(accessor)
                .query(Boolean.class).optional().orElse(false);
    }

    /**
     * Retries revocations that failed earlier, for every agent, and catches stragglers: live credentials
     * of a quarantined agent not yet marked (the recording of grants and the quarantine are serialised, so
     * only a replica of an older version, during a rolling update, could leave one).
     */
    @Scheduled(fixedDelayString = "${pdp.quarantine.revocation-retry-interval:30s}",
            initialDelayString = "${pdp.quarantine.revocation-retry-interval:30s}")
    void retryRevocations() {
        int stragglers = jdbc.sql("""
                update issued_credential c set revoke_requested_at = now()
                where c.revoked_at is null and c.revoke_requested_at is null and c.expires_at > now()
                  and exists (select 1 from quarantine q where q.tenant_id = c.tenant_id and q.agent_id = c.agent_id and q.active)
                """).update();
        if (stragglers > 0) {
            log.warn("{} credential(s) issued in a race with a quarantine are being revoked", stragglers);
        }
        revokePending(null, null, null);
    }

    /** Removes rows of credentials that expired long ago: Vault has forgotten them, revocation is moot. */
    @Scheduled(fixedDelayString = "${pdp.quarantine.cleanup-interval:10m}", initialDelayString = "${pdp.quarantine.cleanup-interval:10m}")
    int cleanUpExpired() {
        // The database's clock, like the expiry it compares: a replica whose clock runs ahead must not drop
        // the rows of live credentials (the quarantine cascade finds them there).
        return jdbc.sql("delete from issued_credential where expires_at < now() - :graceMillis * interval '1 millisecond'")
                .param("graceMillis", properties.cleanupGrace().toMillis())
                .update();
    }

    private int revokePending(String tenant, String agentId, String accessor) {
        record Pending(String accessor, String tenant, String agentId, int attempts) {
        }
        List<Pending> pending = jdbc.sql("""
                select accessor, tenant_id, agent_id, revocation_attempts from issued_credential
                where revoke_requested_at is not null and revoked_at is null and revocation_attempts < :max
                  and (cast(:tenant as text) is null or (tenant_id = :tenant and agent_id = :agent))
                  and (cast(:accessor as text) is null or accessor = :accessor)
                """).param("max", properties.revocationMaxAttempts()).param("tenant", tenant).param("agent", agentId)
                .param("accessor", accessor)
                .query((rs, row) -> new Pending(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4)))
                .list();
        if (pending.isEmpty()) {
            return 0;
        }
        // In parallel, bounded (pdp.vault.revocation-concurrency): a quarantine of an agent with many live
        // credentials (tokens and database leases alike) does not take one Vault round trip per credential.
        List<CredentialIssuer.Revocation> results = credentials.revokeAll(pending.stream().map(Pending::accessor).toList());
        java.util.Map<String, Pending> byHandle = new java.util.HashMap<>();
        pending.forEach(p -> byHandle.put(p.accessor(), p));
        List<String> done = results.stream().filter(CredentialIssuer.Revocation::revoked)
                .map(CredentialIssuer.Revocation::handle).toList();
        // A concurrent revoker (the decision that withheld it, the retry) may have got there first: only the rows
        // this call marks are counted and get an event.
        List<String> marked = done.isEmpty() ? List.of() : jdbc.sql("""
                update issued_credential set revoked_at = now(), last_revocation_error = null
                where accessor = any (:handles) and revoked_at is null
                returning accessor
                """).param("handles", done.toArray(String[]::new)).query(String.class).list();
        for (String handle : marked) {
            Pending p = byHandle.get(handle);
            event(p.tenant(), p.agentId(), "REVOKE", "credential revoked", "pdp");
        }
        for (CredentialIssuer.Revocation failed : results) {
            if (failed.revoked()) {
                continue;
            }
            Pending p = byHandle.get(failed.handle());
            jdbc.sql("""
                    update issued_credential set revocation_attempts = revocation_attempts + 1, last_revocation_error = ?
                    where accessor = ?
                    """).params(truncate(failed.error()), p.accessor()).update();
            event(p.tenant(), p.agentId(), "REVOKE_FAILED", truncate(failed.error()), "pdp");
            if (p.attempts() + 1 >= properties.revocationMaxAttempts()) {
                log.error("Giving up revoking a credential of {}/{} after {} attempts; it expires on its own",
                        p.tenant(), p.agentId(), p.attempts() + 1);
            } else {
                log.warn("Revocation for {}/{} failed (attempt {}), will retry: {}", p.tenant(), p.agentId(),
                        p.attempts() + 1, failed.error());
            }
        }
        return marked.size();
    }

    private void event(String tenant, String agentId, String action, String reason, String actor) {
        jdbc.sql("insert into quarantine_event (tenant_id, agent_id, action, reason, actor) values (?, ?, ?, ?, ?)")
                .params(tenant, agentId, action, reason, actor).update();
    }

    private static String truncate(String message) {
        return message == null ? null : message.length() > 500 ? message.substring(0, 500) : message;
    }

    private static Problems.ApiException notQuarantined(String agentId) {
        return new Problems.ApiException(409, "Conflict", "Agent " + agentId + " is not quarantined.");
    }

}
