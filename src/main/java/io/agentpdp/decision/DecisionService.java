package io.agentpdp.decision;

import java.util.List;
import java.util.UUID;

import org.springframework.stereotype.Service;

import io.agentpdp.audit.AuditTrail.Cause;
import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;

/**
 * The decision flow, as an ordered pipeline of small steps (docs/architecture.md, decision flow). Each step
 * reads what earlier steps established in the {@link DecisionState} and adds its own; the last one answers.
 * Every failure on the way ends in DENY (or a 4xx/5xx problem that says DENY); a credential leaves only after
 * its decision is recorded. Refusals are recorded, and every decision is counted, at one edge: {@link #decide}.
 */
@Service
class DecisionService {

    /** A named step of the pipeline. */
    record Step(String name, java.util.function.Consumer<DecisionState> action) {
    }

    private final List<Step> steps;
    private final DecisionRecorder recorder;
    private final DecisionMetrics metrics;

    DecisionService(RequestSteps request, ContextSteps context, VerdictSteps verdict, CredentialStep credential,
                    RecordStep record, DecisionRecorder recorder, DecisionMetrics metrics) {
        this.recorder = recorder;
        this.metrics = metrics;
        this.steps = List.of(
                new Step("authenticate", request::authenticate),
                new Step("canonicalise target", request::canonicaliseTarget),
                new Step("load context", context::loadContext),
                new Step("bind enforcement point", context::bindEnforcementPoint),
                new Step("verify identity", context::verifyIdentity),
                new Step("check arguments", context::checkArguments),
                new Step("evaluate policy", verdict::evaluatePolicy),
                new Step("quarantine triggers", verdict::quarantineTriggers),
                new Step("approval", verdict::approval),
                new Step("credential", credential::credential),
                new Step("record", record::record));
    }

    Decision decide(Caller caller, DecisionRequest request) {
        long start = System.nanoTime();
        DecisionState state = new DecisionState(caller, request, UUID.randomUUID());
        try {
            for (Step step : steps) {
                step.action().accept(state);
            }
            Decision decision = state.answer;
            metrics.decided(caller.tenant(), decision.outcome().name(), decision.reasons(), start);
            return decision;
        } catch (Refusal refusal) {
            // Decided, and refused: recorded here as a DENY with its reason, and the answer names the record.
            recorder.record(state, Verdict.deny(Cause.REFUSAL, refusal.reason), null, null, request.approvalId());
            metrics.decided(caller.tenant(), "DENY", List.of(refusal.reason), start);
            throw refusal.problem(state.decisionId);
        } catch (Problems.ApiException e) {
            // Not decided (RefusalRecorder records it) or not recordable (the store failed).
            String reason = switch (e.status()) {
                case 400 -> "arguments_invalid";
                case 429 -> "rate_limited";
                default -> "unavailable";
            };
            metrics.decided(caller.tenant(), "DENY", List.of(reason), start);
            throw e;
        }
    }
}
