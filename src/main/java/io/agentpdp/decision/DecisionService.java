package io.agentpdp.decision;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.RequestContextHolder;

import io.agentpdp.approval.Approvals;
import io.agentpdp.audit.AuditTrail;
import io.agentpdp.audit.AuditTrail.Cause;
import io.agentpdp.credential.CredentialIssuer;
import io.agentpdp.identity.WorkloadIdentities;
import io.agentpdp.policy.PolicyEngine;
import io.agentpdp.quarantine.Quarantine;
import io.agentpdp.registry.Registry;
import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;
import tools.jackson.databind.json.JsonMapper;

/**
 * The decision flow: tenant check, one database read for context, policy, credential, audit record,
 * answer. Every failure on the way ends in DENY (or a 4xx/5xx problem that says DENY); a credential
 * leaves only after its decision is recorded.
 */
@Service
class DecisionService {

    private static final Logger log = LoggerFactory.getLogger(DecisionService.class);
    private static final String APPROVAL_INVALID = "approval_invalid";
    static final String NON_CANONICAL_TARGET = "non_canonical_target";
    private static final String NON_CANONICAL_TITLE = "Non-canonical target name";

    private final DecisionContextLoader contexts;
    private final PolicyEngine policy;
    private final CredentialIssuer credentials;
    private final AuditTrail audit;
    private final JsonMapper json;
    private final DatabaseRetry database;
    private final Quarantine quarantine;
    private final DecisionMetrics metrics;
    private final RateLimiter rateLimiter;
    private final Approvals approvals;
    private final Registry registry;
    private final Clock clock;
    private final TransactionTemplate transactions;
    private final WorkloadIdentities identities;

    DecisionService(DecisionContextLoader contexts, PolicyEngine policy, CredentialIssuer credentials,
                    AuditTrail audit, JsonMapper json, DatabaseRetry database, Quarantine quarantine,
                    DecisionMetrics metrics, RateLimiter rateLimiter, Approvals approvals, Registry registry,
                    Clock clock, TransactionTemplate transactions, WorkloadIdentities identities) {
        this.identities = identities;
        this.transactions = transactions;
        this.clock = clock;
        this.registry = registry;
        this.metrics = metrics;
        this.rateLimiter = rateLimiter;
        this.database = database;
        this.quarantine = quarantine;
        this.approvals = approvals;
        this.contexts = contexts;
        this.policy = policy;
        this.credentials = credentials;
        this.audit = audit;
        this.json = json;
    }

    Decision decide(Caller caller, DecisionRequest request) {
        long start = System.nanoTime();
        try {
            Decision decision = decideTimed(caller, request);
            metrics.decided(caller.tenant(), decision.outcome(), decision.reasons(), start);
            return decision;
        } catch (Problems.ApiException e) {
            String reason = switch (e.status()) {
                case 400 -> NON_CANONICAL_TITLE.equals(e.title()) ? NON_CANONICAL_TARGET : "arguments_invalid";
                case 403 -> "forbidden";
                case 429 -> "rate_limited";
                default -> "unavailable";
            };
            metrics.decided(caller.tenant(), "DENY", List.of(reason), start);
            throw e;
        }
    }

    private Decision decideTimed(Caller caller, DecisionRequest request) {
        // Keyed by the caller's own tenant: a caller cannot spend another tenant's allowance.
        if (!rateLimiter.tryAcquire(caller.tenant(), request.agent().id())) {
            throw new Problems.ApiException(429, "Too many requests",
                    "The decision rate limit for this tenant or agent is exceeded; the action is denied. Retry later.");
        }
        UUID decisionId = UUID.randomUUID();
        if (!caller.tenant().equals(request.tenant())) {
            // Recorded under the caller's own tenant: an attempt to cross tenants is evidence about the caller.
            // There is no database read before it, so this replica's clock stamps it.
            Verdict denied = Verdict.deny(Cause.REFUSAL, "tenant_mismatch");
            record(decisionId, caller, request, caller.tenant(), null, request.dataClassification(), denied, null,
                    null, request.approvalId(), clock.instant(), null);
            throw new Problems.ApiException(403, "Forbidden",
                    "The token's tenant may not decide for tenant '" + request.tenant() + "'.", decisionId, null);
        }

        Registry.Target target;
        try {
            target = registry.canonicalTarget(request.target().system(), request.target().resource());
        } catch (Registry.NonCanonicalNameException e) {
            // Never looked up raw: another spelling of a classified resource must not come out unclassified.
            record(decisionId, caller, request, request.tenant(), null, request.dataClassification(),
                    Verdict.deny(Cause.REFUSAL, NON_CANONICAL_TARGET), null, null, request.approvalId(), clock.instant(),
                    null);
            throw new Problems.ApiException(400, NON_CANONICAL_TITLE,
                    e.getMessage() + " Send the canonical name (docs/architecture.md, canonical resource names); the action is denied.",
                    decisionId, null);
        }

        // Arguments before anything else reads them: exact numbers, and valid under the tool's schema (400 otherwise).
        if (request.context() != null && request.context().containsKey("arguments")) {
            throw new Problems.ApiException(400, "Invalid request",
                    "'context.arguments' is not accepted: send the tool call's parameters as the top-level 'arguments'.");
        }
        if (request.arguments() != null && !request.arguments().isNull() && !request.arguments().isObject()) {
            throw new Problems.ApiException(400, "Invalid request", "'arguments' must be a JSON object.");
        }
        DecisionContext context;
        long dbStart = System.nanoTime();
        try {
            context = database.once(() -> contexts.load(request.tenant(), request.agent().id(), request.tool(),
                    target, request.approvalId(),
                    request.heldCredential() == null ? null : request.heldCredential().decisionId(),
                    quarantine.denyWindow(), quarantine.rateWindow()));
            metrics.dependency("database", true, dbStart);
        } catch (DataAccessException e) {
            metrics.dependency("database", false, dbStart);
            throw new Problems.ApiException(503, "Decision store unavailable",
                    "The database could not be read; the action is denied.", null, e);
        }
        // The tool's registered argument schema came with the context read: no second query on the decide path.
        DecisionContext.Tool registeredTool = context.tool();
        Approvals.CheckedArguments arguments = approvals.checkArguments(request.tool(),
                registeredTool == null || registeredTool.argumentSchema() == null ? null
                        : new Approvals.ToolFacts(Long.toString(registeredTool.version()), json.readTree(registeredTool.argumentSchema())),
                request.argumentsOrNull());
        // The decision's time is the database's: it stamps the record, and the credential's expiry is stated on
        // it, so the trigger windows and expiry checks (all in SQL) compare like with like on every replica.
        Instant now = context.databaseNow();
        Clock databaseClock = Clock.offset(clock, Duration.between(clock.instant(), now));
        // Verify identity: the JWT-SVID against the trust bundle, at the decision's time, bound to this agent by the
        // registry. Policy decides on the result (agent.workload_identity); the triggers count only verified ones.
        WorkloadIdentities.Verification identity = identities.verify(request.agent().workloadIdentityToken(),
                context.agentSpiffeIds(), registeredTool == null ? null : registeredTool.riskTier(), now);
        Classification effective = Classification.stricter(request.dataClassification(), context.storedClassification());
        // An approval binds the target as policy sees it: the registered system name, the resource folded when the
        // system is case-insensitive.
        Approvals.Action action = new Approvals.Action(request.tenant(), request.agent().id(), request.task().id(),
                request.task().intent(), request.tool(), arguments.toolSchemaVersion(), request.action().wire(),
                context.registeredSystemName() != null ? context.registeredSystemName() : target.system(),
                context.systemCaseSensitive() ? target.resource() : target.resourceFolded(), effective.wire(),
                request.argumentsOrNull());

        Verdict verdict = context.quarantined() ? Verdict.deny(Cause.QUARANTINE, "quarantined")
                : evaluate(caller, request, target, context, effective, action, identity);
        if (verdict.cause() == Cause.POLICY && !context.agentRegistered()) {
            // An id nobody registered: its record must not count towards any trigger, now or once registered.
            verdict = verdict.withCause(Cause.UNREGISTERED_AGENT);
        }
        verdict = explainInvalidApproval(verdict, request, context, action);

        // Triggers are checked before any credential is minted: a decision that quarantines grants nothing.
        String quarantineTrigger = quarantine.trigger(
                new Quarantine.Activity(context.agentRegistered(), context.recentDenies(), context.recentDecisions()),
                new Quarantine.Signal(verdict.cause() == Cause.POLICY, identity.verified(), "DENY".equals(verdict.outcome()),
                        verdict.quarantineRequested(), verdict.quarantineReason())).orElse(null);
        if (quarantineTrigger != null) {
            List<String> reasons = new ArrayList<>(verdict.reasons());
            reasons.add("quarantined");
            reasons.add("quarantine_trigger:" + quarantineTrigger);
            verdict = new Verdict("DENY", List.copyOf(reasons), List.of(), null, 0, verdict.revision(), false, null,
                    Cause.POLICY);
        }

        // Only a decision that stands opens or spends an approval: after the quarantine triggers. A STEP_UP opens
        // its approval in the transaction that records it (below).
        boolean approvalConsumed = false;
        if (!"STEP_UP".equals(verdict.outcome()) && verdict.grant() != null && request.approvalId() != null) {
            // A credential granted to a request that presents an approval spends it, whatever reason the
            // policy gave, and before minting: of concurrent replays exactly one gets past this.
            verdict = consumeApproval(verdict, caller, request, action, decisionId);
            approvalConsumed = verdict.grant() != null;
        }
        CredentialIssuer.Issued issued = null;
        DecisionContext.HeldCredential reused = verdict.grant() == null ? null : reusable(verdict.grant(), request, context);
        if (verdict.grant() != null && reused == null) {
            long vaultStart = System.nanoTime();
            try {
                issued = credentials.issue(new CredentialIssuer.Request(verdict.grant().policies(), verdict.grant().ttl(),
                        verdict.grant().numUses(), request.tenant(), request.agent().id(), request.task().id(),
                        decisionId.toString()), databaseClock);
                metrics.dependency("vault", true, vaultStart);
            } catch (CredentialIssuer.CredentialUnavailableException e) {
                metrics.dependency("vault", false, vaultStart);
                log.warn("Decision {} denied: credential could not be minted: {}", decisionId, e.getMessage());
                verdict = Verdict.deny(Cause.DEPENDENCY_FAILURE, "credential_unavailable").withRevision(verdict.revision());
                if (approvalConsumed && restoreApproval(request, decisionId)) {
                    verdict = Verdict.deny(Cause.DEPENDENCY_FAILURE, "credential_unavailable", "approval_retry_granted")
                            .withRevision(verdict.revision());
                }
            }
        }

        if ("STEP_UP".equals(verdict.outcome())) {
            return stepUp(caller, request, context, effective, verdict, action, arguments, decisionId, now, identity);
        }

        // A retry is recorded with the approval it presented.
        UUID recordedApproval = request.approvalId();
        AuditTrail.Result recorded = record(decisionId, caller, request, request.tenant(), context.storedClassification(),
                effective, verdict, issued, reused, recordedApproval, now, identity);
        if (recorded == AuditTrail.Result.AGENT_QUARANTINED) {
            // The agent's quarantine committed after this decision read its context: nothing was recorded, and
            // the answer is DENY. What was minted is recorded as withheld and revoked before answering.
            verdict = Verdict.deny(Cause.QUARANTINE, "quarantined").withRevision(verdict.revision());
            record(decisionId, caller, request, request.tenant(), context.storedClassification(), effective, verdict,
                    issued, null, recordedApproval, now, identity);
            if (issued != null) {
                revokeWithheld(decisionId, request, issued);
            }
            issued = null;
            reused = null;
        }
        if (quarantineTrigger != null) {
            quarantineAfterDecision(request, quarantineTrigger);
        }
        return new Decision(decisionId, verdict.outcome(), verdict.reasons(), verdict.obligations(),
                issued != null ? credential(issued) : reused != null ? credential(reused) : null, null,
                verdict.revision() == null ? "none" : verdict.revision(), now);
    }

    /**
     * A STEP_UP: the approval request is opened and the decision recorded in one transaction, so a STEP_UP
     * whose record fails leaves no request open (and the answer is 503, DENY). When the request cannot be
     * opened (approvers flooded: {@code approval_rate_limited}; anything else: {@code approval_unavailable})
     * the decision is a recorded DENY.
     */
    private Decision stepUp(Caller caller, DecisionRequest request, DecisionContext context, Classification effective,
                            Verdict verdict, Approvals.Action action, Approvals.CheckedArguments arguments,
                            UUID decisionId, Instant now, WorkloadIdentities.Verification identity) {
        Approvals.Request opening = new Approvals.Request(action, arguments.shown(), verdict.reasons(),
                verdict.requiredApprovals(), caller.principal(), context.agentOwner(), decisionId);
        Verdict stepUp = verdict;
        Approvals.Ticket ticket;
        try {
            ticket = transactions.execute(status -> {
                Approvals.Ticket opened = approvals.request(opening);
                record(decisionId, caller, request, request.tenant(), context.storedClassification(), effective, stepUp,
                        null, null, opened.id(), now, identity);
                return opened;
            });
        } catch (Problems.ApiException e) {
            throw e; // the record failed: nothing committed, no approval open
        } catch (Approvals.RateLimitedException e) {
            log.warn("Decision {} denied: {}", decisionId, e.getMessage());
            return deniedStepUp(caller, request, context, effective,
                    Verdict.deny(Cause.REFUSAL, "approval_rate_limited").withRevision(verdict.revision()), decisionId, now,
                    identity);
        } catch (RuntimeException e) {
            log.warn("Decision {} denied: the approval request could not be opened: {}", decisionId, e.getMessage());
            return deniedStepUp(caller, request, context, effective,
                    Verdict.deny(Cause.DEPENDENCY_FAILURE, "approval_unavailable").withRevision(verdict.revision()),
                    decisionId, now, identity);
        }
        return new Decision(decisionId, verdict.outcome(), verdict.reasons(), verdict.obligations(), null,
                new Decision.Approval(ticket.id(), ticket.status(), ticket.expiresAt(), ticket.requiredApprovals()),
                verdict.revision() == null ? "none" : verdict.revision(), now);
    }

    private Decision deniedStepUp(Caller caller, DecisionRequest request, DecisionContext context,
                                  Classification effective, Verdict denied, UUID decisionId, Instant now,
                                  WorkloadIdentities.Verification identity) {
        record(decisionId, caller, request, request.tenant(), context.storedClassification(), effective, denied, null,
                null, request.approvalId(), now, identity);
        return new Decision(decisionId, denied.outcome(), denied.reasons(), denied.obligations(), null, null,
                denied.revision() == null ? "none" : denied.revision(), now);
    }

    /** The approval this decision spent is given back once, since its credential could not be minted. */
    private boolean restoreApproval(DecisionRequest request, UUID decisionId) {
        try {
            return approvals.restoreAfterMintFailure(request.tenant(), request.approvalId(), decisionId);
        } catch (RuntimeException e) {
            log.error("Decision {}: the approval {} it spent could not be given back after the mint failed",
                    decisionId, request.approvalId(), e);
            return false;
        }
    }

    /**
     * The held credential this decision may confirm instead of minting, or null. The policy opts in
     * ({@code credential.reuse}); the PDP confirms only a credential that is no more than what the policy
     * grants now: issued to this agent (the query matched tenant and agent) for this task, live, not bound
     * to an approval, with the same Vault policies, no more lifetime left than the grant's TTL and no more
     * uses than it. A request presenting an approval always gets a fresh single-use credential.
     */
    private static DecisionContext.HeldCredential reusable(PolicyEngine.CredentialGrant grant, DecisionRequest request,
                                                           DecisionContext context) {
        DecisionContext.HeldCredential held = context.heldCredential();
        if (!grant.reuse() || held == null || request.approvalId() != null) {
            return null;
        }
        boolean fits = held.live() && held.reusable() && held.taskId().equals(request.task().id())
                && Set.copyOf(held.policies()).equals(Set.copyOf(grant.policies()))
                && held.remainingSeconds() > 0 && held.remainingSeconds() <= grant.ttl().toSeconds()
                && held.numUses() <= grant.numUses();
        return fits ? held : null;
    }

    private Verdict consumeApproval(Verdict verdict, Caller caller, DecisionRequest request, Approvals.Action action,
                                    UUID decisionId) {
        try {
            Approvals.Consumption consumption = approvals.consume(action, request.approvalId(), caller.principal(),
                    decisionId);
            return consumption == Approvals.Consumption.CONSUMED ? verdict
                    : Verdict.deny(verdict.cause(), APPROVAL_INVALID, consumption.reason()).withRevision(verdict.revision());
        } catch (RuntimeException e) {
            log.warn("Decision {} denied: the approval could not be consumed: {}", decisionId, e.getMessage());
            return Verdict.deny(Cause.DEPENDENCY_FAILURE, APPROVAL_INVALID, "approval_unavailable")
                    .withRevision(verdict.revision());
        }
    }

    /**
     * The policy says only {@code approval_invalid}; the agent deserves to know why (expired, consumed,
     * denied, still pending, for another action, unknown), so the PDP adds the specific reason.
     */
    private Verdict explainInvalidApproval(Verdict verdict, DecisionRequest request, DecisionContext context,
                                           Approvals.Action action) {
        if (request.approvalId() == null || !verdict.reasons().contains(APPROVAL_INVALID)) {
            return verdict;
        }
        DecisionContext.ApprovalState approval = context.approval();
        String reason;
        if (approval == null) {
            reason = "approval_unknown";
        } else if ("CONSUMED".equals(approval.status()) || approval.consumedAt() != null) {
            reason = "approval_consumed";
        } else if ("EXPIRED".equals(approval.status()) || approval.expired()) {
            reason = "approval_expired";
        } else if ("DENIED".equals(approval.status())) {
            reason = "approval_denied";
        } else if ("PENDING".equals(approval.status())) {
            reason = "approval_pending";
        } else if (!approval.fingerprint().equals(approvals.fingerprint(action))) {
            reason = "approval_mismatch";
        } else {
            reason = "approval_not_approved";
        }
        List<String> reasons = new ArrayList<>(verdict.reasons());
        reasons.add(reason);
        return new Verdict(verdict.outcome(), List.copyOf(reasons), verdict.obligations(), verdict.grant(),
                verdict.requiredApprovals(), verdict.revision(), verdict.quarantineRequested(), verdict.quarantineReason(),
                verdict.cause());
    }

    private Verdict evaluate(Caller caller, DecisionRequest request, Registry.Target target, DecisionContext context,
                             Classification effective, Approvals.Action action,
                             WorkloadIdentities.Verification identity) {
        long opaStart = System.nanoTime();
        try {
            PolicyEngine.Result result = policy.evaluate(policyInput(caller, request, target, context, effective, action,
                    identity));
            metrics.dependency("opa", true, opaStart);
            return new Verdict(result.outcome(), result.reasons(), result.obligations(),
                    result.grantsCredential() ? result.credential() : null, result.requiredApprovals(), result.revision(),
                    result.quarantineRequested(), result.quarantineReason(), Cause.POLICY);
        } catch (PolicyEngine.PolicyUnavailableException e) {
            metrics.dependency("opa", false, opaStart);
            log.warn("Policy evaluation failed ({}): {}", e.reason(), e.getMessage());
            return Verdict.deny(Cause.DEPENDENCY_FAILURE, e.reason());
        }
    }

    /** The enriched input document the Rego policy sees (policies/agentpdp/decision). */
    private Map<String, Object> policyInput(Caller caller, DecisionRequest request, Registry.Target requested,
                                            DecisionContext context, Classification effective, Approvals.Action action,
                                            WorkloadIdentities.Verification identity) {
        Map<String, Object> agent = new LinkedHashMap<>();
        agent.put("id", request.agent().id());
        agent.put("registered", context.agentRegistered());
        agent.put("enabled", context.agentRegistered() && context.agentEnabled());
        agent.put("owner", context.agentOwner());
        agent.put("allowed_tools", context.allowedTools());
        agent.put("home_systems", context.homeSystems());
        agent.put("max_chain_depth", context.maxChainDepth());
        agent.put("workload_identity", identity.policyInput());

        Map<String, Object> task = new LinkedHashMap<>();
        task.put("id", request.task().id());
        task.put("intent", request.task().intent());
        task.put("chain_depth", request.task().chainDepth());
        task.put("parent_decision_id", request.task().parentDecisionId() == null ? null : request.task().parentDecisionId().toString());

        Map<String, Object> classification = new LinkedHashMap<>();
        classification.put("declared", request.dataClassification().wire());
        classification.put("stored", context.storedClassification() == null ? null : context.storedClassification().wire());
        classification.put("effective", effective.wire());

        // A registered system is named as registered (folded when case-insensitive), so home systems compare alike.
        boolean caseSensitive = context.systemCaseSensitive();
        Map<String, Object> target = new LinkedHashMap<>();
        target.put("system", context.registeredSystemName() != null ? context.registeredSystemName() : requested.system());
        target.put("resource", caseSensitive ? requested.resource() : requested.resourceFolded());

        DecisionContext.Tool registeredTool = context.tool();
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("name", request.tool());
        tool.put("registered", registeredTool != null);
        if (registeredTool != null) {
            tool.put("target_system", registeredTool.targetSystem());
            tool.put("targets_system", caseSensitive ? registeredTool.targetSystem().equals(requested.system())
                    : Registry.fold(registeredTool.targetSystem()).equals(requested.systemFolded()));
            tool.put("action_kinds", registeredTool.actionKinds());
            tool.put("risk_tier", registeredTool.riskTier());
            tool.put("read_only", registeredTool.readOnly());
            tool.put("destructive", registeredTool.destructive());
        }

        Map<String, Object> input = new LinkedHashMap<>();
        input.put("tenant", request.tenant());
        input.put("caller", Map.of("subject", caller.subject(), "tenant", caller.tenant(), "scopes", List.copyOf(caller.scopes())));
        input.put("agent", agent);
        input.put("task", task);
        input.put("tool", tool);
        input.put("action", Map.of("kind", request.action().wire()));
        input.put("target", target);
        input.put("classification", classification);
        input.put("approval", approvalInput(request, context, action));
        input.put("arguments", request.argumentsOrNull() == null ? Map.of() : request.argumentsOrNull());
        input.put("quarantine", Map.of("active", context.quarantined()));
        input.put("held_credential", heldCredentialInput(request, context));
        input.put("context", request.context() == null ? Map.of() : request.context());
        return input;
    }

    private Map<String, Object> approvalInput(DecisionRequest request, DecisionContext context,
                                              Approvals.Action action) {
        if (request.approvalId() == null) {
            return null;
        }
        DecisionContext.ApprovalState approval = context.approval();
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("id", request.approvalId().toString());
        if (approval == null) {
            // Unknown or another tenant's approval: present, but matching nothing.
            state.put("status", "UNKNOWN");
            state.put("matches", false);
            state.put("expired", true);
            state.put("consumed", false);
            return state;
        }
        state.put("status", approval.status());
        state.put("matches", approval.fingerprint().equals(approvals.fingerprint(action)));
        state.put("expired", approval.expired());
        state.put("consumed", approval.consumedAt() != null);
        return state;
    }

    /**
     * What policy learns about the credential the request says it holds: null when none is named; an
     * unknown or foreign one is neither live nor of this task.
     */
    private static Map<String, Object> heldCredentialInput(DecisionRequest request, DecisionContext context) {
        if (request.heldCredential() == null) {
            return null;
        }
        DecisionContext.HeldCredential held = context.heldCredential();
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("decision_id", request.heldCredential().decisionId().toString());
        state.put("live", held != null && held.live());
        state.put("same_task", held != null && held.taskId().equals(request.task().id()));
        state.put("reusable", held != null && held.reusable());
        state.put("policies", held == null ? List.of() : held.policies());
        state.put("remaining_seconds", held == null ? 0 : held.remainingSeconds());
        state.put("num_uses", held == null ? 0 : held.numUses());
        return state;
    }

    private AuditTrail.Result record(UUID decisionId, Caller caller, DecisionRequest request, String tenant,
                        Classification stored, Classification effective, Verdict verdict,
                        CredentialIssuer.Issued issued, DecisionContext.HeldCredential reused, UUID approvalId,
                        Instant now, WorkloadIdentities.Verification identity) {
        AuditTrail.CredentialEntry credential = issued != null ? AuditTrail.CredentialEntry.issued(
                issued.accessor(), issued.policies(), (int) issued.ttl().toSeconds(), issued.expiresAt(),
                issued.numUses(), issued.wrapped())
                : reused != null ? AuditTrail.CredentialEntry.reused(reused.decisionId(), reused.accessorHash(),
                reused.policies(), (int) reused.remainingSeconds(), reused.expiresAt(), reused.numUses(), reused.wrapped())
                : null;
        try {
            AuditTrail.DecisionEntry entry = new AuditTrail.DecisionEntry(decisionId, tenant, request.agent().id(),
                    request.task().id(), request.task().parentDecisionId(), request.task().chainDepth(), request.tool(),
                    request.action().wire(), request.target().system(), request.target().resource(),
                    request.dataClassification().wire(), stored == null ? null : stored.wire(), effective.wire(),
                    verdict.outcome(), verdict.reasons(), verdict.cause(), verdict.obligations(), approvalId,
                    verdict.revision(), caller.subject(), credential, metrics.traceId(), now,
                    identity != null && identity.verified(), identity == null ? null : identity.spiffeId());
            AuditTrail.Result result = database.once(() -> audit.recordDecision(entry));
            if (result == AuditTrail.Result.RECORDED) {
                markRecorded(decisionId);
            }
            return result;
        } catch (RuntimeException e) {
            // Whatever failed, a token whose decision is not recorded must not stay usable.
            if (issued != null) {
                revokeUnrecorded(decisionId, issued);
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

    /**
     * A credential minted by a decision whose agent was quarantined before it could be recorded: recorded
     * as withheld (pending revocation), revoked now. If Vault fails, the quarantine's retry keeps at it and
     * the quarantine state reports it pending; the token never left the PDP.
     */
    private void revokeWithheld(UUID decisionId, DecisionRequest request, CredentialIssuer.Issued issued) {
        try {
            if (!quarantine.revokeWithheld(request.tenant(), request.agent().id(), issued.accessor())) {
                log.warn("Decision {}: the credential withheld for the quarantine is not revoked yet; it is retried",
                        decisionId);
            }
        } catch (RuntimeException e) {
            log.error("Decision {}: revoking the credential withheld for the quarantine failed; it is retried",
                    decisionId, e);
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

    private static Decision.Credential credential(CredentialIssuer.Issued issued) {
        return new Decision.Credential(issued.wrapped() ? "wrapped_token" : "token", issued.token(),
                issued.wrapTtl() == null ? null : issued.wrapTtl().toSeconds(), issued.ttl().toSeconds(),
                issued.expiresAt(), issued.numUses(), issued.policies(), null);
    }

    /** No secret: the enforcement point keeps the one it holds. Its remaining lifetime is the TTL stated. */
    private static Decision.Credential credential(DecisionContext.HeldCredential reused) {
        return new Decision.Credential("reuse", null, null, reused.remainingSeconds(), reused.expiresAt(),
                reused.numUses(), reused.policies(), reused.decisionId());
    }

    /**
     * The decision is recorded and stands; the quarantine (state, approvals, revocations) follows. If it
     * fails, the agent is still denied by this decision, and the failure is logged loudly.
     */
    private void quarantineAfterDecision(DecisionRequest request, String trigger) {
        try {
            quarantine.quarantine(request.tenant(), request.agent().id(), "automatic: " + trigger, "pdp");
        } catch (RuntimeException e) {
            log.error("Automatic quarantine of {}/{} ({}) failed", request.tenant(), request.agent().id(), trigger, e);
        }
    }

    /**
     * The outcome being built: DENY helpers keep reasons stable and never carry a grant. {@code cause} says
     * what the outcome rests on (only policy verdicts feed the quarantine triggers).
     */
    record Verdict(String outcome, List<String> reasons, List<String> obligations,
                   PolicyEngine.CredentialGrant grant, int requiredApprovals, String revision,
                   boolean quarantineRequested, String quarantineReason, Cause cause) {

        static Verdict deny(Cause cause, String... reasons) {
            return new Verdict("DENY", List.of(reasons), List.of(), null, 0, null, false, null, cause);
        }

        Verdict withRevision(String revision) {
            return new Verdict(outcome, reasons, obligations, grant, requiredApprovals, revision, quarantineRequested,
                    quarantineReason, cause);
        }

        Verdict withCause(Cause cause) {
            return new Verdict(outcome, reasons, obligations, grant, requiredApprovals, revision, quarantineRequested,
                    quarantineReason, cause);
        }
    }
}
