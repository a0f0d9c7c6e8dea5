package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.TestJwts;
import tools.jackson.databind.JsonNode;

/** The step-up approval workflow end to end on real OPA, OpenBao and PostgreSQL. */
class ApprovalFlowTest extends ApprovalTestBase {

    @Test
    void stepUpOpensOneApprovalPerActionAndReturnsNoCredential() {
        String tenant = tenantWithAgent();
        Api.Answer first = decide(tenant, deleteRequest(tenant, "contacts/42"));
        assertThat(first.text("outcome")).isEqualTo("STEP_UP");
        assertThat(first.json().has("credential")).isFalse();
        JsonNode approval = first.json().path("approval");
        assertThat(approval.path("status").asString()).isEqualTo("PENDING");
        assertThat(approval.path("required_approvals").asInt()).isEqualTo(1);
        Instant expires = Instant.parse(approval.path("expires_at").asString());
        assertThat(expires).isBetween(Instant.now().plusSeconds(14 * 60), Instant.now().plusSeconds(16 * 60));

        Api.Answer again = decide(tenant, deleteRequest(tenant, "contacts/42"));
        assertThat(again.json().path("approval").path("id").asString()).isEqualTo(approval.path("id").asString());
        Api.Answer other = decide(tenant, deleteRequest(tenant, "contacts/43"));
        assertThat(other.json().path("approval").path("id").asString()).isNotEqualTo(approval.path("id").asString());

        Map<String, Object> row = jdbc.sql("select * from approval where id = cast(? as uuid)")
                .param(approval.path("id").asString()).query().singleRow();
        assertThat(row).containsEntry("tenant_id", tenant).containsEntry("agent_id", "agent-7")
                .containsEntry("task_id", "task-1").containsEntry("tool", "crm.contacts.delete")
                .containsEntry("action", "delete").containsEntry("classification", "internal")
                .containsEntry("requested_by", pid(GATEWAY)).containsEntry("agent_owner", pid(OWNER))
                .containsEntry("required_approvals", 1).containsEntry("status", "PENDING");
        assertThat(row.get("decision_id").toString()).isEqualTo(first.text("decision_id"));
        assertThat((String) row.get("target_hash")).hasSize(64);
        assertThat(events(approval.path("id").asString())).containsExactly("REQUESTED:" + pid(GATEWAY));
        Api.Answer record = api().get("/v1/decisions/" + first.text("decision_id"), TestJwts.token(GATEWAY, tenant, "decide"));
        assertThat(record.text("outcome")).isEqualTo("STEP_UP");
        assertThat(record.text("approval_id")).isEqualTo(approval.path("id").asString());
    }

    @Test
    void concurrentIdenticalStepUpsShareOneApproval() throws Exception {
        String tenant = tenantWithAgent();
        List<String> ids = inParallel(8, i -> stepUp(tenant, deleteRequest(tenant, "contacts/7")));
        assertThat(ids).hasSize(8).containsOnly(ids.getFirst());
    }

    @Test
    void anApprovedRequestGivesExactlyOneAllowWithACredential() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));

        Api.Answer approved = approve(tenant, id, "bob");
        assertThat(approved.status()).isEqualTo(200);
        assertThat(approved.text("status")).isEqualTo("APPROVED");
        assertThat(approved.json().path("retry_decision").asBoolean()).isTrue();
        assertThat(Instant.parse(approved.text("expires_at")))
                .isBetween(Instant.now().plusSeconds(4 * 60), Instant.now().plusSeconds(6 * 60));

        Api.Answer allowed = decide(tenant, with(deleteRequest(tenant, "contacts/42"), "approval_id", id));
        assertThat(allowed.text("outcome")).isEqualTo("ALLOW");
        assertThat(reasons(allowed)).containsExactly("approved_by_human");
        assertThat(allowed.json().path("credential").path("num_uses").asInt()).isEqualTo(1);
        assertThat(storedStatus(id)).isEqualTo("CONSUMED");

        Api.Answer replay = decide(tenant, with(deleteRequest(tenant, "contacts/42"), "approval_id", id));
        assertThat(replay.text("outcome")).isEqualTo("DENY");
        assertThat(reasons(replay)).contains("approval_invalid", "approval_consumed");
        assertThat(replay.json().has("credential")).isFalse();

        assertThat(events(id)).containsExactly("REQUESTED:" + pid(GATEWAY), "VOTED:" + pid("bob"), "APPROVED:" + pid("bob"), "CONSUMED:" + pid(GATEWAY));
        String why = jdbc.sql("select reason from approval_event where approval_id = cast(? as uuid) and event = 'VOTED'")
                .param(id).query(String.class).single();
        assertThat(why).contains("looks right");
        // A later identical action needs a new approval.
        assertThat(stepUp(tenant, deleteRequest(tenant, "contacts/42"))).isNotEqualTo(id);
    }

    @Test
    void anApprovalIsBoundToItsExactAction() {
        String tenant = tenantWithAgent();
        Map<String, Object> original = with(deleteRequest(tenant, "contacts/42"), "arguments", Map.of("hard", true, "reason", "gdpr"));
        String id = stepUp(tenant, original);
        approve(tenant, id, "bob");

        List<Map<String, Object>> others = List.of(
                with(deleteRequest(tenant, "contacts/43"), "approval_id", id),
                with(with(deleteRequest(tenant, "contacts/42"), "arguments", Map.of("hard", false, "reason", "gdpr")), "approval_id", id),
                with(with(deleteRequest(tenant, "contacts/42"), "task", Map.of("id", "task-2", "intent", "x", "chain_depth", 0)), "approval_id", id),
                with(with(deleteRequest(tenant, "contacts/42"), "data_classification", "confidential"), "approval_id", id));
        for (Map<String, Object> other : others) {
            Api.Answer denied = decide(tenant, other);
            assertThat(denied.text("outcome")).isEqualTo("DENY");
            assertThat(reasons(denied)).contains("approval_invalid", "approval_mismatch");
        }
        assertThat(storedStatus(id)).isEqualTo("APPROVED");

        // Argument order does not matter: the arguments are canonicalised.
        Map<String, Object> reordered = new LinkedHashMap<>();
        reordered.put("reason", "gdpr");
        reordered.put("hard", true);
        Api.Answer allowed = decide(tenant, with(with(deleteRequest(tenant, "contacts/42"), "arguments", reordered),
                "approval_id", id));
        assertThat(allowed.text("outcome")).isEqualTo("ALLOW");
    }

    @Test
    void concurrentReplaysOfOneApprovalGetExactlyOneAllow() throws Exception {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        approve(tenant, id, "bob");

        // Five at once: the four losers are policy DENYs (approval_consumed), one short of the production deny-burst
        // threshold (5). More replays would rightly quarantine the agent, and a quarantine that commits before the
        // winner's record turns its grant into DENY `quarantined` (QuarantineRaceTest) - not what this test is about.
        List<String> outcomes = inParallel(5, i -> decide(tenant,
                with(deleteRequest(tenant, "contacts/42"), "approval_id", id)).text("outcome"));
        assertThat(outcomes.stream().filter("ALLOW"::equals).count()).isEqualTo(1);
        assertThat(outcomes.stream().filter("DENY"::equals).count()).isEqualTo(4);
        assertThat(jdbc.sql("select count(*) from decision_record where approval_id = cast(? as uuid) and outcome = 'ALLOW'")
                .param(id).query(Long.class).single()).isEqualTo(1);
        assertThat(jdbc.sql("select count(*) from issued_credential c join decision_record d on d.id = c.decision_id"
                + " where d.approval_id = cast(? as uuid)").param(id).query(Long.class).single()).isEqualTo(1);
    }

    @Test
    void pendingDeniedUnknownAndForeignApprovalsAreDeniedWithTheirReason() {
        String tenant = tenantWithAgent();
        String pending = stepUp(tenant, deleteRequest(tenant, "contacts/1"));
        assertThat(reasons(decide(tenant, with(deleteRequest(tenant, "contacts/1"), "approval_id", pending))))
                .contains("approval_invalid", "approval_pending");

        String denied = stepUp(tenant, deleteRequest(tenant, "contacts/2"));
        Api.Answer deny = vote(tenant, denied, "bob", "deny", "not this customer");
        assertThat(deny.status()).isEqualTo(200);
        assertThat(deny.text("status")).isEqualTo("DENIED");
        assertThat(deny.json().path("retry_decision").asBoolean()).isFalse();
        assertThat(reasons(decide(tenant, with(deleteRequest(tenant, "contacts/2"), "approval_id", denied))))
                .contains("approval_invalid", "approval_denied");
        assertThat(events(denied)).containsExactly("REQUESTED:" + pid(GATEWAY), "VOTED:" + pid("bob"), "DENIED:" + pid("bob"));

        assertThat(reasons(decide(tenant, with(deleteRequest(tenant, "contacts/3"), "approval_id", UUID.randomUUID().toString()))))
                .contains("approval_invalid", "approval_unknown");

        // Another tenant's approved request is unknown here, and invisible.
        String other = tenantWithAgent();
        String foreign = stepUp(other, deleteRequest(other, "contacts/1"));
        assertThat(approve(other, foreign, "bob").status()).isEqualTo(200);
        Api.Answer crossed = decide(tenant, with(deleteRequest(tenant, "contacts/1"), "approval_id", foreign));
        assertThat(crossed.text("outcome")).isEqualTo("DENY");
        assertThat(reasons(crossed)).contains("approval_unknown");
        assertThat(get(tenant, foreign).status()).isEqualTo(404);
        assertThat(approve(tenant, foreign, "carol").status()).isEqualTo(404);
        assertThat(vote(tenant, foreign, "carol", "deny", "no").status()).isEqualTo(404);
        assertThat(storedStatus(foreign)).isEqualTo("APPROVED");
    }

    @Test
    void anExpiredApprovalIsDeniedWithoutWaitingForTheSweeper() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        approve(tenant, id, "bob");
        jdbc.sql("update approval set expires_at = now() - interval '1 second' where id = cast(? as uuid)").param(id).update();

        Api.Answer denied = decide(tenant, with(deleteRequest(tenant, "contacts/42"), "approval_id", id));
        assertThat(denied.text("outcome")).isEqualTo("DENY");
        assertThat(reasons(denied)).contains("approval_invalid", "approval_expired");
        assertThat(get(tenant, id).text("status")).isEqualTo("EXPIRED");
        assertThat(storedStatus(id)).isEqualTo("APPROVED"); // not yet swept, still never usable

        // A new identical STEP_UP is not blocked by the stale request: it is expired and replaced.
        String next = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        assertThat(next).isNotEqualTo(id);
        assertThat(storedStatus(id)).isEqualTo("EXPIRED");
        assertThat(events(id)).last().isEqualTo("EXPIRED:system:approval-sweeper");
    }

    @Test
    void quarantiningTheAgentCancelsItsOpenApprovalsInTheAuditTrail() {
        String tenant = tenantWithAgent();
        String pending = stepUp(tenant, deleteRequest(tenant, "contacts/1"));
        String approved = stepUp(tenant, deleteRequest(tenant, "contacts/2"));
        approve(tenant, approved, "bob");

        Api.Answer quarantined = api().post("/v1/agents/agent-7/quarantine", TestJwts.token("sec-1", tenant, "security-admin"),
                Map.of("reason", "drifted from its task"));
        assertThat(quarantined.status()).isEqualTo(200);
        assertThat(quarantined.json().path("approvals_cancelled").asInt()).isEqualTo(2);
        for (String id : List.of(pending, approved)) {
            assertThat(get(tenant, id).text("status")).isEqualTo("CANCELLED");
            assertThat(events(id)).last().isEqualTo("CANCELLED:" + pid("sec-1"));
            assertThat(approve(tenant, id, "carol").status()).isEqualTo(409);
        }
        assertThat(reasons(decide(tenant, with(deleteRequest(tenant, "contacts/2"), "approval_id", approved)))).contains("quarantined");
    }

    @Test
    void theRequesterAndTheAgentOwnerMayNotApprove() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        assertThat(approve(tenant, id, GATEWAY).status()).isEqualTo(403);
        assertThat(approve(tenant, id, OWNER).status()).isEqualTo(403);
        assertThat(vote(tenant, id, OWNER, "deny", "mine").status()).isEqualTo(403);
        assertThat(storedStatus(id)).isEqualTo("PENDING");
        assertThat(jdbc.sql("select count(*) from approval_vote where approval_id = cast(? as uuid)").param(id)
                .query(Long.class).single()).isZero();
    }

    @Test
    void aQuorumNeedsDistinctApproversAndOneDenyEndsIt() {
        String tenant = tenantWithAgent();
        Api.Answer stepUp = decide(tenant, paymentRequest(tenant));
        assertThat(stepUp.text("outcome")).isEqualTo("STEP_UP");
        assertThat(stepUp.json().path("approval").path("required_approvals").asInt()).isEqualTo(2);
        String id = stepUp.json().path("approval").path("id").asString();

        Api.Answer first = approve(tenant, id, "bob");
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.text("status")).isEqualTo("PENDING");
        assertThat(approve(tenant, id, "bob").status()).isEqualTo(409);
        assertThat(reasons(decide(tenant, with(paymentRequest(tenant), "approval_id", id)))).contains("approval_pending");

        Api.Answer second = approve(tenant, id, "carol");
        assertThat(second.text("status")).isEqualTo("APPROVED");
        assertThat(second.json().path("votes").size()).isEqualTo(2);
        assertThat(approve(tenant, id, "dave").status()).isEqualTo(409);
        assertThat(vote(tenant, id, "dave", "deny", "too late").status()).isEqualTo(409);
        assertThat(decide(tenant, with(paymentRequest(tenant), "approval_id", id)).text("outcome")).isEqualTo("ALLOW");

        String next = stepUp(tenant, paymentRequest(tenant));
        assertThat(approve(tenant, next, "bob").text("status")).isEqualTo("PENDING");
        assertThat(vote(tenant, next, "carol", "deny", "amount too high").text("status")).isEqualTo("DENIED");
        assertThat(approve(tenant, next, "dave").status()).isEqualTo(409);
    }

    @Test
    void concurrentVotesOnOneRequestHaveExactlyOneWinner() throws Exception {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        List<Integer> statuses = inParallel(16, i -> vote(tenant, id, "approver-" + i, i % 2 == 0 ? "approve" : "deny",
                "vote " + i).status());
        assertThat(statuses.stream().filter(s -> s == 200).count()).isEqualTo(1);
        assertThat(statuses.stream().filter(s -> s == 409).count()).isEqualTo(15);
        assertThat(storedStatus(id)).isIn("APPROVED", "DENIED");
        assertThat(jdbc.sql("select count(*) from approval_vote where approval_id = cast(? as uuid)").param(id)
                .query(Long.class).single()).isEqualTo(1);
        assertThat(jdbc.sql("select count(*) from approval_event where approval_id = cast(? as uuid) and event in ('APPROVED', 'DENIED')")
                .param(id).query(Long.class).single()).isEqualTo(1);
    }

    @Test
    void concurrentVotesOnAQuorumCountEveryApproverOnce() throws Exception {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, paymentRequest(tenant));
        List<Integer> statuses = inParallel(16, i -> approve(tenant, id, "approver-" + i).status());
        // The first two votes reach the quorum; every later one finds the request closed.
        assertThat(statuses.stream().filter(s -> s == 200).count()).isEqualTo(2);
        assertThat(statuses.stream().filter(s -> s == 409).count()).isEqualTo(14);
        assertThat(storedStatus(id)).isEqualTo("APPROVED");
        assertThat(events(id).stream().filter(e -> e.startsWith("APPROVED:")).count()).isEqualTo(1);
    }

    @Test
    void approversListPendingRequestsByAgentWithPaging() {
        String tenant = tenantWithAgent();
        registerAgent(tenant, "agent-8", OWNER, new String[] {"crm.contacts.delete"}, new String[] {"crm"});
        String a = stepUp(tenant, deleteRequest(tenant, "contacts/1"));
        String b = stepUp(tenant, deleteRequest(tenant, "contacts/2"));
        Map<String, Object> byOther = deleteRequest(tenant, "contacts/3");
        byOther.put("agent", agent("agent-8"));
        String c = stepUp(tenant, byOther);
        approve(tenant, b, "bob");
        String token = TestJwts.token("reviewer", tenant, "approver");

        Api.Answer pending = api().get("/v1/approvals", token);
        assertThat(pending.status()).isEqualTo(200);
        assertThat(ids(pending)).containsExactly(a, c);
        assertThat(pending.json().path("total").asLong()).isEqualTo(2);
        assertThat(pending.json().path("items").get(0).has("votes")).isFalse();

        assertThat(ids(api().get("/v1/approvals?status=PENDING&agent_id=agent-8", token))).containsExactly(c);
        assertThat(ids(api().get("/v1/approvals?status=APPROVED", token))).containsExactly(b);
        Api.Answer second = api().get("/v1/approvals?page=1&size=1", token);
        assertThat(ids(second)).containsExactly(c);
        assertThat(second.json().path("page").asInt()).isEqualTo(1);
        assertThat(second.json().path("size").asInt()).isEqualTo(1);
        assertThat(second.json().path("total").asLong()).isEqualTo(2);
        // Another tenant sees none of them.
        assertThat(api().get("/v1/approvals", TestJwts.token("reviewer", newTenant(), "approver")).json()
                .path("total").asLong()).isZero();
    }

    @Test
    void scopesGateTheApprovalEndpoints() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        String decide = TestJwts.token("gw-2", tenant, "decide");
        String admin = TestJwts.token("sec", tenant, "security-admin");

        Api.Answer read = api().get("/v1/approvals/" + id, decide);
        assertThat(read.status()).isEqualTo(200);
        assertThat(read.text("status")).isEqualTo("PENDING");
        assertThat(read.json().path("retry_decision").asBoolean()).isFalse();
        assertThat(api().get("/v1/approvals", decide).status()).isEqualTo(403);
        assertThat(api().post("/v1/approvals/" + id + "/approve", decide, Map.of("comment", "ok")).status()).isEqualTo(403);
        assertThat(api().get("/v1/approvals/" + id, admin).status()).isEqualTo(403);
        assertThat(api().post("/v1/approvals/" + id + "/deny", admin, Map.of("comment", "no")).status()).isEqualTo(403);
        assertThat(api().get("/v1/approvals/" + id, null).status()).isEqualTo(401);
        assertThat(storedStatus(id)).isEqualTo("PENDING");
    }

    @Test
    void badApprovalInputIs400() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        String token = TestJwts.token("bob", tenant, "approver");
        String path = "/v1/approvals/" + id + "/approve";
        assertThat(api().post(path, token, Map.of()).status()).isEqualTo(400);
        assertThat(api().post(path, token, Map.of("comment", " ")).status()).isEqualTo(400);
        assertThat(api().post(path, token, Map.of("comment", "x".repeat(1001))).status()).isEqualTo(400);
        assertThat(api().post(path, token, Map.of("comment", "ok", "verdict", "APPROVE")).status()).isEqualTo(400);
        assertThat(api().post(path, token, "not json").status()).isEqualTo(400);
        assertThat(api().post("/v1/approvals/not-a-uuid/approve", token, Map.of("comment", "ok")).status()).isEqualTo(400);
        assertThat(api().get("/v1/approvals?status=BOGUS", token).status()).isEqualTo(400);
        assertThat(api().get("/v1/approvals?size=0", token).status()).isEqualTo(400);
        assertThat(api().get("/v1/approvals?size=101", token).status()).isEqualTo(400);
        assertThat(api().get("/v1/approvals?page=-1", token).status()).isEqualTo(400);
        assertThat(api().get("/v1/approvals?agent_id=%E2%80%8Bagent", token).status()).isEqualTo(400);
        assertThat(api().get("/v1/approvals/" + id + "?wait=31s", token).status()).isEqualTo(400);
        assertThat(api().get("/v1/approvals/" + id + "?wait=soon", token).status()).isEqualTo(400);
        assertThat(api().get("/v1/approvals/" + UUID.randomUUID(), token).status()).isEqualTo(404);
        assertThat(approve(tenant, id, "bob").status()).isEqualTo(200);
        assertThat(api().post(path, token, Map.of("comment", "ok")).status()).isEqualTo(409);
    }

    @Test
    void theEnforcementPointCanWaitForTheVerdict() throws Exception {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        String decide = TestJwts.token(GATEWAY, tenant, "decide");

        long start = System.nanoTime();
        Api.Answer stillPending = api().get("/v1/approvals/" + id + "?wait=400ms", decide);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(400));
        assertThat(stillPending.text("status")).isEqualTo("PENDING");

        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            long waitStart = System.nanoTime();
            Future<Api.Answer> waiting = executor.submit(() -> api().get("/v1/approvals/" + id + "?wait=10s", decide));
            Thread.sleep(500);
            assertThat(waiting.isDone()).isFalse();
            approve(tenant, id, "bob");
            Api.Answer answer = waiting.get();
            Duration waited = Duration.ofNanos(System.nanoTime() - waitStart);
            assertThat(answer.status()).isEqualTo(200);
            assertThat(answer.text("status")).isEqualTo("APPROVED");
            assertThat(answer.json().path("retry_decision").asBoolean()).isTrue();
            assertThat(waited).isLessThan(Duration.ofSeconds(3));
        }
        // A decided request answers at once.
        start = System.nanoTime();
        assertThat(api().get("/v1/approvals/" + id + "?wait=30s", decide).text("status")).isEqualTo("APPROVED");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void theApprovalAuditTrailIsAppendOnlyForTheApplication() {
        Assumptions.assumeFalse(STACK.appUser().equals(STACK.ownerUser()),
                "the application runs as the schema owner here");
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        assertThatThrownBy(() -> jdbc.sql("update approval_event set actor = 'mallory' where approval_id = cast(? as uuid)")
                .param(id).update()).rootCause().hasMessageContaining("permission denied");
        assertThatThrownBy(() -> jdbc.sql("delete from approval_event where approval_id = cast(? as uuid)")
                .param(id).update()).rootCause().hasMessageContaining("permission denied");
        Timestamp at = jdbc.sql("select at from approval_event where approval_id = cast(? as uuid)").param(id)
                .query(Timestamp.class).single();
        assertThat(at).isNotNull();
    }

    private static List<String> ids(Api.Answer page) {
        List<String> ids = new ArrayList<>();
        page.json().path("items").forEach(item -> ids.add(item.path("id").asString()));
        return ids;
    }

    interface Task<T> {
        T run(int index) throws Exception;
    }

    /** Runs {@code n} tasks at the same moment on their own threads; their results in order. */
    static <T> List<T> inParallel(int n, Task<T> task) throws Exception {
        CountDownLatch ready = new CountDownLatch(n);
        CountDownLatch go = new CountDownLatch(1);
        try (ExecutorService executor = Executors.newFixedThreadPool(n)) {
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                Callable<T> call = () -> {
                    ready.countDown();
                    go.await();
                    return task.run(index);
                };
                futures.add(executor.submit(call));
            }
            ready.await();
            go.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> future : futures) {
                results.add(future.get());
            }
            return results;
        }
    }
}
