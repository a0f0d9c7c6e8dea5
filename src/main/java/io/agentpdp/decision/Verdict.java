package io.agentpdp.decision;

import java.util.ArrayList;
import java.util.List;

import io.agentpdp.audit.AuditTrail.Cause;
import io.agentpdp.policy.PolicyEngine;
import io.agentpdp.policy.PolicyEngine.Outcome;

/**
 * The outcome being built: DENY helpers keep reasons stable and never carry a grant. {@code cause} says what
 * the outcome rests on (only policy verdicts feed the quarantine triggers).
 */
record Verdict(Outcome outcome, List<String> reasons, List<String> obligations,
               PolicyEngine.CredentialGrant grant, int requiredApprovals, String revision,
               boolean quarantineRequested, String quarantineReason, Cause cause) {

    static Verdict deny(Cause cause, String... reasons) {
        return new Verdict(Outcome.DENY, List.of(reasons), List.of(), null, 0, null, false, null, cause);
    }

    static Verdict of(PolicyEngine.Result result) {
        return new Verdict(result.outcome(), result.reasons(), result.obligations(),
                result.grantsCredential() ? result.credential() : null, result.requiredApprovals(), result.revision(),
                result.quarantineRequested(), result.quarantineReason(), Cause.POLICY);
    }

    Verdict withRevision(String revision) {
        return new Verdict(outcome, reasons, obligations, grant, requiredApprovals, revision, quarantineRequested,
                quarantineReason, cause);
    }

    Verdict withCause(Cause cause) {
        return new Verdict(outcome, reasons, obligations, grant, requiredApprovals, revision, quarantineRequested,
                quarantineReason, cause);
    }

    /** The same verdict with {@code more} reasons appended. */
    Verdict withReasons(String... more) {
        List<String> all = new ArrayList<>(reasons);
        all.addAll(List.of(more));
        return new Verdict(outcome, List.copyOf(all), obligations, grant, requiredApprovals, revision,
                quarantineRequested, quarantineReason, cause);
    }

    boolean is(Outcome other) {
        return outcome == other;
    }

    String revisionOrNone() {
        return revision == null ? "none" : revision;
    }
}
