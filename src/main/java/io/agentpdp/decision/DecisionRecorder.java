package io.agentpdp.decision;

import java.time.Clock;
import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.RequestContextHolder;

import io.agentpdp.audit.AuditTrail;
import io.agentpdp.credential.CredentialIssuer;
import io.agentpdp.web.Problems;

/**
 * Writes a decision's audit record: one statement ({@link AuditTrail#recordDecision}), retried once on a
 * connection failure, timed as the dependency {@code audit} (its commit waits for the WAL flush: a slow database
 * disk shows there first). A credential whose decision could not be recorded is revoked before the 503.
 */
@Component
class DecisionRecorder {

    private static final Logger log = LoggerFactory.getLogger(DecisionRecorder.class);
    /** The chain depth recorded when neither derived nor declared (as {@link RefusalRecorder} records it). */
    private static final int UNKNOWN_DEPTH = -1;

    private final AuditTrail audit;
    private final DatabaseRetry database;
    private final CredentialIssuer credentials;
    private final DecisionMetrics metrics;
    private final Clock clock;

    DecisionRecorder(AuditTrail audit, DatabaseRetry database, CredentialIssuer credentials, DecisionMetrics metrics,
                     Clock clock) {
        this.audit = audit;
        this.database = database;
        this.credentials = credentials;
        this.metrics = metrics;
        this.clock = clock;
    }

    /**
     * Records {@code verdict} for the decision in {@code s}, under the caller's tenant (the only one it may
     * act for; a tenant mismatch is evidence about the caller), with the credential it minted or confirmed.
     */
    AuditTrail.Result record(DecisionState s, Verdict verdict, CredentialIssuer.Issued issued,
                             DecisionContext.HeldCredential reused, UUID approvalId) {
        DecisionRequest request = s.request;
        AuditTrail.CredentialEntry credential = issued != null ? AuditTrail.CredentialEntry.issued(
                issued.accessor(), issued.policies(), (int) issued.ttl().toSeconds(), issued.expiresAt(),
                issued.numUses(), issued.wrapped())
                : reused != null ? AuditTrail.CredentialEntry.reused(reused.decisionId(), reused.accessorHash(),
                reused.policies(), (int) reused.remainingSeconds(), reused.expiresAt(), reused.numUses(), reused.wrapped())
                : null;
        Classification stored = s.context == null ? null : s.context.storedClassification();
        Classification effective = s.effective != null ? s.effective : request.dataClassification();
        int depth = s.chain != null ? s.chain.depth()
                : request.task().chainDepth() != null ? request.task().chainDepth() : UNKNOWN_DEPTH;
        try {
            AuditTrail.DecisionEntry entry = new AuditTrail.DecisionEntry(s.decisionId, s.caller.tenant(),
                    request.agent().id(), request.task().id(), request.task().parentDecisionId(), depth, request.tool(),
                    request.action().wire(), request.target().system(), request.target().resource(),
                    request.dataClassification().wire(), stored == null ? null : stored.wire(), effective.wire(),
                    verdict.outcome().name(), verdict.reasons(), verdict.cause(), verdict.obligations(), approvalId,
                    verdict.revision(), s.caller.subject(), credential, metrics.traceId(), s.recordTime(clock),
                    s.identity != null && s.identity.verified(), s.identity == null ? null : s.identity.spiffeId());
            long start = System.nanoTime();
            AuditTrail.Result result;
            try {
                result = database.once(() -> audit.recordDecision(entry));
            } catch (RuntimeException e) {
                metrics.dependency("audit", false, start);
                throw e;
            }
            metrics.dependency("audit", true, start);
            if (result == AuditTrail.Result.RECORDED) {
                markRecorded(s.decisionId);
            }
            return result;
        } catch (RuntimeException e) {
            // Whatever failed, a token whose decision is not recorded must not stay usable.
            if (issued != null) {
                revokeUnrecorded(s.decisionId, issued);
            }
            throw new Problems.ApiException(503, "Decision store unavailable",
                    "The decision could not be recorded; the action is denied.", null, e);
        }
    }

    /** This request has its record: an error answer after it must not get a second one from {@link RefusalRecorder}. */
    private static void markRecorded(UUID decisionId) {
        RequestAttributes attributes = RequestContextHolder.getRequestAttributes();
        if (attributes != null) {
            attributes.setAttribute(RefusalRecorder.RECORDED, decisionId, RequestAttributes.SCOPE_REQUEST);
        }
    }

    /** A credential whose decision could not be recorded must not stay usable. */
    private void revokeUnrecorded(UUID decisionId, CredentialIssuer.Issued issued) {
        try {
            credentials.revoke(issued.accessor());
        } catch (CredentialIssuer.CredentialUnavailableException e) {
            log.error("Decision {}: unrecorded credential could not be revoked; it expires at {}", decisionId,
                    issued.expiresAt(), e);
        }
    }
}
