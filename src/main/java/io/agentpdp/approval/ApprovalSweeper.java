package io.agentpdp.approval;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Marks open approval requests past their expiry as EXPIRED, and reminds the approvers of pending ones
 * about to expire, each with an audit event and a webhook notification. Only bookkeeping: the decide path treats an expired request as expired on its own.
 */
@Component
class ApprovalSweeper {

    private static final Logger log = LoggerFactory.getLogger(ApprovalSweeper.class);
    private static final int BATCH = 500;

    private final Approvals approvals;

    ApprovalSweeper(Approvals approvals) {
        this.approvals = approvals;
    }

    /** Interval: pdp.approval.sweep-interval (default as in {@link ApprovalProperties}). */
    @Scheduled(fixedDelayString = "${pdp.approval.sweep-interval:30s}", initialDelayString = "${pdp.approval.sweep-interval:30s}")
    void sweep() {
        try {
            int expired;
            do {
                expired = approvals.expireDue(BATCH);
                if (expired > 0) {
                    log.info("Expired {} approval request(s)", expired);
                }
            } while (expired == BATCH);
            int reminded;
            do {
                reminded = approvals.remindDue(BATCH);
            } while (reminded == BATCH);
        } catch (RuntimeException e) {
            log.warn("Approval sweep failed; retrying at the next interval: {}", e.getMessage());
        }
    }
}
