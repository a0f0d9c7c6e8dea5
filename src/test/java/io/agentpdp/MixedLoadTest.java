package io.agentpdp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/**
 * A bounded loopback load: 2400 decisions of mixed outcomes from 16 threads, every STEP_UP raced by three
 * approvers and then replayed twice. Nothing may answer 5xx, every answered decision must have its
 * record, every approval must end consistent (one winning vote, spent exactly once), the chain intact.
 */
// Each approved action is replayed once on purpose (a DENY), and some agents get 180 decisions within the
// minute: with the default triggers they would (rightly) be quarantined, which QuarantineTest covers. Likewise
// its three approvers vote on every STEP_UP as fast as they can, past the default per-caller API limit
// (ApiRateLimitTest covers that). Its 600 STEP_UPs through one gateway are past the default approval creation
// limits, too (ApprovalRecoveryTest covers those).
@org.springframework.test.context.TestPropertySource(properties = {"pdp.quarantine.deny-threshold=100000",
        "pdp.quarantine.rate-threshold=100000", "pdp.api-limits.caller-burst=100000",
        "pdp.api-limits.tenant-burst=100000", "pdp.approval.creation-agent-burst=100000",
        "pdp.approval.creation-caller-burst=100000"})
class MixedLoadTest extends IntegrationTest {

    private static final int DECISIONS = 2400;
    private static final int AGENTS = 40;
    /** Failing closed under load (a dependency slower than its deadline) is allowed; anything else is not. */
    private static final java.util.Set<String> FAIL_CLOSED = java.util.Set.of(
            "policy_engine_timeout", "policy_engine_unavailable", "credential_unavailable", "approval_unavailable");
    private final AtomicInteger failedClosed = new AtomicInteger();

    @Test
    void mixedLoadWithConcurrentApprovalsLosesNothing() throws Exception {
        String tenant = newTenant();
        // The unregistered ids the load decides for are bound to the gateway: DENY unknown_agent, not a 403.
        bindAgents(tenant, java.util.stream.IntStream.range(0, DECISIONS).filter(n -> n % 4 == 2)
                .mapToObj(n -> "ghost-" + n).toArray(String[]::new));
        for (int a = 0; a < AGENTS; a++) {
            registerAgent(tenant, "agent-" + a, "alice", new String[] {"crm.contacts.read", "crm.contacts.delete"}, new String[] {"crm"});
        }
        classify(tenant, "crm", "contacts/" + tenant + "/vip", "confidential");
        String gateway = TestJwts.token("gw-1", tenant, "decide");
        AtomicInteger decisionsAnswered = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> outcomes = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> approvalIds = new ConcurrentLinkedQueue<>();

        try (ExecutorService pool = Executors.newFixedThreadPool(16)) {
            List<Future<?>> work = new ArrayList<>();
            for (int i = 0; i < DECISIONS; i++) {
                int n = i;
                work.add(pool.submit(() -> {
                    String agent = "agent-" + (n % AGENTS);
                    String expected = switch (n % 4) {
                        case 0 -> "ALLOW";
                        case 1 -> "CONSTRAIN";
                        case 2 -> "DENY";
                        default -> "STEP_UP";
                    };
                    Map<String, Object> body = switch (n % 4) {
                        case 0 -> request(tenant, agent, "crm.contacts.read", "read", "crm", "contacts/" + n, "internal");
                        case 1 -> request(tenant, agent, "crm.contacts.read", "read", "crm", "contacts/" + tenant + "/vip/" + n, "internal");
                        case 2 -> request(tenant, "ghost-" + n, "crm.contacts.read", "read", "crm", "contacts/" + n, "internal");
                        default -> request(tenant, agent, "crm.contacts.delete", "delete", "crm", "contacts/" + n, "internal");
                    };
                    Api.Answer answer = api().post("/v1/decisions", gateway, body);
                    if (answer.status() != 200) {
                        failures.add(answer.status() + " " + answer.body());
                        return;
                    }
                    decisionsAnswered.incrementAndGet();
                    if (!expected.equals(answer.text("outcome")) && !failedClosed(answer)) {
                        failures.add("expected " + expected + ", got " + answer.body());
                    }
                    outcomes.add(answer.text("outcome"));
                    if ("STEP_UP".equals(answer.text("outcome"))) {
                        String approvalId = answer.json().path("approval").path("id").asString();
                        approvalIds.add(approvalId);
                        raceApprovers(tenant, approvalId, failures);
                        replayTwice(gateway, body, approvalId, failures, decisionsAnswered);
                    }
                }));
            }
            for (Future<?> f : work) {
                f.get();
            }
        }

        assertThat(failures).as("no 5xx, no unexpected status or outcome").isEmpty();
        assertThat(failedClosed.get()).as("fail-closed DENYs under load stay rare").isLessThanOrEqualTo(DECISIONS / 50);
        assertThat(outcomes).filteredOn("ALLOW"::equals).hasSizeLessThanOrEqualTo(DECISIONS / 4);
        assertThat(outcomes).filteredOn("CONSTRAIN"::equals).hasSizeLessThanOrEqualTo(DECISIONS / 4);
        assertThat(approvalIds).hasSizeGreaterThanOrEqualTo(DECISIONS / 4 - failedClosed.get());

        long recorded = jdbc.sql("select count(*) from decision_record where tenant_id = ?").param(tenant).query(Long.class).single();
        assertThat(recorded).as("every answered decision has its record").isEqualTo(decisionsAnswered.get());
        assertThat(jdbc.sql("select status, count(*) from approval where tenant_id = ? group by status").param(tenant)
                .query((rs, row) -> rs.getString(1) + "=" + rs.getLong(2)).list())
                .containsExactly("CONSUMED=" + approvalIds.size());
        assertThat(jdbc.sql("""
                select count(*) from approval a where a.tenant_id = ?
                and (select count(*) from approval_vote v where v.approval_id = a.id) <> 1
                """).param(tenant).query(Long.class).single()).as("exactly one vote per approval").isZero();
        Api.Answer chain = verifyLinked(tenant);
        assertThat(chain.json().path("valid").asBoolean()).isTrue();
        assertThat(chain.json().path("records_checked").asLong()).isEqualTo(recorded);
    }

    /** Three approvers at once on a quorum-of-one request: exactly one wins, the others get 409. */
    private void raceApprovers(String tenant, String approvalId, ConcurrentLinkedQueue<String> failures) {
        List<Thread> voters = new ArrayList<>();
        ConcurrentLinkedQueue<Integer> statuses = new ConcurrentLinkedQueue<>();
        for (String approver : List.of("bob", "carol", "dave")) {
            voters.add(Thread.ofVirtual().start(() -> statuses.add(api().post("/v1/approvals/" + approvalId + "/approve",
                    TestJwts.token(approver, tenant, "approver"), Map.of("comment", "ok")).status())));
        }
        for (Thread voter : voters) {
            try {
                voter.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (statuses.stream().filter(s -> s == 200).count() != 1 || statuses.stream().anyMatch(s -> s != 200 && s != 409)) {
            failures.add("approval race on " + approvalId + " answered " + statuses);
        }
    }

    /**
     * The approved action is retried (again, while it fails closed) until it is allowed, which spends the
     * approval; one more replay must then be denied.
     */
    private void replayTwice(String gateway, Map<String, Object> body, String approvalId,
                             ConcurrentLinkedQueue<String> failures, AtomicInteger decisionsAnswered) {
        Map<String, Object> retry = new java.util.LinkedHashMap<>(body);
        retry.put("approval_id", approvalId);
        Api.Answer first;
        int attempts = 0;
        do {
            first = api().post("/v1/decisions", gateway, retry);
            decisionsAnswered.incrementAndGet();
        } while (++attempts < 3 && first.status() == 200 && failedClosed(first));
        Api.Answer replay = api().post("/v1/decisions", gateway, retry);
        decisionsAnswered.incrementAndGet();
        if (!"ALLOW".equals(first.text("outcome")) || !"DENY".equals(replay.text("outcome"))) {
            failures.add("replay of " + approvalId + ": " + first.status() + " " + first.text("outcome") + " then "
                    + replay.status() + " " + replay.text("outcome"));
        }
    }

    private boolean failedClosed(Api.Answer answer) {
        boolean closed = "DENY".equals(answer.text("outcome")) && answer.json().path("reasons").size() == 1
                && FAIL_CLOSED.contains(answer.json().path("reasons").get(0).asString());
        if (closed) {
            failedClosed.incrementAndGet();
        }
        return closed;
    }
}
