package io.agentpdp.decision;

import java.time.Clock;
import java.time.Duration;

import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Component;

import io.agentpdp.approval.Approvals;
import io.agentpdp.identity.WorkloadIdentities;
import io.agentpdp.quarantine.Quarantine;
import io.agentpdp.web.Problems;
import tools.jackson.databind.json.JsonMapper;

/**
 * The steps around the decision's one database read: load context, bind the enforcement point, verify the
 * workload identity, check the arguments against the tool's registered schema.
 */
@Component
class ContextSteps {

    static final String ENFORCEMENT_POINT_NOT_BOUND = "enforcement_point_not_bound";

    private final DecisionContextLoader contexts;
    private final DatabaseRetry database;
    private final DecisionMetrics metrics;
    private final Quarantine quarantine;
    private final Approvals approvals;
    private final JsonMapper json;
    private final Clock clock;

    private final WorkloadIdentities identities;

    ContextSteps(DecisionContextLoader contexts, DatabaseRetry database, DecisionMetrics metrics, Quarantine quarantine,
                 Approvals approvals, JsonMapper json, Clock clock, WorkloadIdentities identities) {
        this.identities = identities;
        this.contexts = contexts;
        this.database = database;
        this.metrics = metrics;
        this.quarantine = quarantine;
        this.approvals = approvals;
        this.json = json;
        this.clock = clock;
    }

    /**
     * The single context query (retried once on a connection failure; 503 when the store is down, with no
     * record). The decision's time is the database's: it stamps the record, and the credential's expiry is
     * stated on it, so the trigger windows and expiry checks (all in SQL) compare like with like on every
     * replica. The effective classification is the stricter of declared and stored; the chain depth is derived
     * from the parent decision's record.
     */
    void loadContext(DecisionState s) {
        DecisionRequest request = s.request;
        long start = System.nanoTime();
        try {
            s.context = database.once(() -> contexts.load(new DecisionContextLoader.Query(request.tenant(),
                    s.caller.principal().subject(), request.agent().id(), request.task().id(),
                    request.task().parentDecisionId(), request.tool(), s.target, request.approvalId(),
                    request.heldCredential() == null ? null : request.heldCredential().decisionId(),
                    quarantine.denyWindow(), quarantine.rateWindow())));
            metrics.dependency("database", true, start);
        } catch (DataAccessException e) {
            metrics.dependency("database", false, start);
            throw new Problems.ApiException(503, "Decision store unavailable",
                    "The database could not be read; the action is denied.", null, e);
        }
        s.now = s.context.databaseNow();
        s.databaseClock = Clock.offset(clock, Duration.between(clock.instant(), s.now));
        s.effective = Classification.stricter(request.dataClassification(), s.context.storedClassification());
        s.chain = DecisionState.Chain.derive(request.task(), s.context.parent());
    }

    /**
     * A {@code decide} token decides only for the agents the registry binds to its principal: the tenant's
     * enforcement point whose principal is the caller's canonical subject, enabled, listing the agent's id or
     * selecting it by its labels. Anything else is a recorded DENY (cause refusal: it never feeds the triggers).
     */
    void bindEnforcementPoint(DecisionState s) {
        if (!DecisionContext.EnforcementPoint.binds(s.context.enforcementPoint())) {
            throw new Refusal(403, "Forbidden", "No enabled enforcement point of this tenant for the caller's principal"
                    + " is bound to agent '" + s.request.agent().id() + "'; the action is denied.",
                    ENFORCEMENT_POINT_NOT_BOUND);
        }
    }

    /**
     * The JWT-SVID against the trust bundle, at the decision's time, bound to this agent by the registry. Policy
     * decides on the result ({@code agent.workload_identity}); the quarantine triggers count only verified ones.
     */
    void verifyIdentity(DecisionState s) {
        DecisionContext.Tool tool = s.context.tool();
        s.identity = identities.verify(s.request.agent().workloadIdentityToken(), s.context.agentSpiffeIds(),
                tool == null ? null : tool.riskTier(), s.now);
    }

    /**
     * Arguments before anything else reads them: a JSON object (never {@code context.arguments}), exact numbers,
     * and valid under the tool's registered schema, which came with the context read (400 otherwise). The
     * action an approval binds is the target as policy sees it: the registered system name, the resource folded
     * when the system is case-insensitive.
     */
    void checkArguments(DecisionState s) {
        DecisionRequest request = s.request;
        if (request.context() != null && request.context().containsKey("arguments")) {
            throw new Problems.ApiException(400, "Invalid request",
                    "'context.arguments' is not accepted: send the tool call's parameters as the top-level 'arguments'.");
        }
        if (request.arguments() != null && !request.arguments().isNull() && !request.arguments().isObject()) {
            throw new Problems.ApiException(400, "Invalid request", "'arguments' must be a JSON object.");
        }
        DecisionContext.Tool tool = s.context.tool();
        s.arguments = approvals.checkArguments(request.tool(), tool == null || tool.argumentSchema() == null ? null
                        : new Approvals.ToolFacts(Long.toString(tool.version()), tool.argumentSchema()),
                request.argumentsOrNull());
        DecisionContext context = s.context;
        s.action = new Approvals.Action(request.tenant(), request.agent().id(), request.task().id(),
                request.task().intent(), request.tool(), s.arguments.toolSchemaVersion(), request.action().wire(),
                context.registeredSystemName() != null ? context.registeredSystemName() : s.target.system(),
                context.systemCaseSensitive() ? s.target.resource() : s.target.resourceFolded(), s.effective.wire(),
                request.argumentsOrNull());
    }
}
