package io.agentpdp.quarantine;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.VaultProbe;

/**
 * A quarantine racing grants, on the real PostgreSQL and OpenBao: no credential handed out around a
 * quarantine stays live once the quarantine has answered, and a grant that could only be recorded after
 * the quarantine committed is not handed out at all. The rate limits and the abnormal-rate trigger are
 * lifted here, and the pool waits longer for a connection: 200 decisions of one agent at once (whose
 * records queue on the tenant's audit chain) are the load, not the subject.
 */
@TestPropertySource(properties = {"pdp.quarantine.rate-threshold=100000", "pdp.limits.agent-per-second=100000",
        "pdp.limits.agent-burst=100000", "pdp.limits.tenant-per-second=100000", "pdp.limits.tenant-burst=100000",
        "spring.datasource.hikari.connection-timeout=60000"})
class QuarantineRaceTest extends IntegrationTest {

    private static final String AGENT = "agent-7";

    private final VaultProbe vault = new VaultProbe(STACK.vaultUrl());
    private String tenant;
    private String decide;
    private String admin;

    @BeforeEach
    void setUp() {
        tenant = newTenant();
        decide = TestJwts.token("gw-1", tenant, "decide");
        admin = TestJwts.token("sec-alice", tenant, "security-admin");
        registerAgent(tenant, AGENT, "owner", new String[] {"crm.contacts.read"}, new String[] {"crm"});
    }

    private Api.Answer read(Api api) {
        return api.post("/v1/decisions", decide, request(tenant, AGENT, "crm.contacts.read", "read", "crm", "contacts/1", "public"));
    }

    private Api.Answer quarantineAgent() {
        return api().post("/v1/agents/" + AGENT + "/quarantine", admin, Map.of("reason", "drifted from its task"));
    }

    @Test
    void noTokenHandedOutAroundAQuarantineStaysLiveOnceTheQuarantineAnswered() throws Exception {
        int decisions = 200;
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch firstAnswers = new CountDownLatch(20);
        List<Future<Api.Answer>> answers = new ArrayList<>();
        Api.Answer quarantined;
        Api shared = api();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < decisions; i++) {
                answers.add(pool.submit(() -> {
                    start.await();
                    Api.Answer answer = read(shared);
                    firstAnswers.countDown();
                    return answer;
                }));
            }
            start.countDown();
            // The quarantine goes in while most of the 200 are still on their way (being decided, minted, recorded).
            assertThat(firstAnswers.await(120, TimeUnit.SECONDS)).isTrue();
            quarantined = quarantineAgent();
        }
        assertThat(quarantined.status()).isEqualTo(200);

        int allowed = 0;
        int denied = 0;
        for (Future<Api.Answer> future : answers) {
            Api.Answer answer = future.get();
            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            if ("ALLOW".equals(answer.text("outcome"))) {
                allowed++;
                // Recorded before the quarantine: its cascade found the credential and revoked it.
                String token = vault.unwrap(answer.json().path("credential").path("token").asString());
                assertThat(vault.lookupSelf(token).status()).as("a token handed out around the quarantine").isEqualTo(403);
                assertThat(revokedAt(UUID.fromString(answer.text("decision_id")))).isTrue();
            } else {
                // Quarantined; on a loaded machine possibly an OPA deadline too: either way no credential.
                denied++;
                assertThat(answer.text("outcome")).isEqualTo("DENY");
                assertThat(answer.json().has("credential")).isFalse();
            }
        }
        assertThat(allowed).as("the decisions answered before the quarantine went in").isGreaterThanOrEqualTo(20);
        assertThat(allowed + denied).isEqualTo(decisions);
        // Every credential minted for this agent, handed out or withheld, is revoked; nothing is left pending.
        assertThat(jdbc.sql("select count(*) from issued_credential where tenant_id = ? and revoked_at is null")
                .param(tenant).query(Long.class).single()).isZero();
        Api.Answer state = api().get("/v1/agents/" + AGENT + "/quarantine", admin);
        assertThat(state.json().path("state").path("pending_revocations").asInt()).isZero();
        assertThat(api().get("/v1/audit/verify", admin).json().path("valid").asBoolean()).isTrue();
    }

    @Test
    void aGrantThatCanOnlyBeRecordedAfterTheQuarantineCommittedIsDeniedAndItsTokenRevoked() throws Exception {
        int racing = 5;
        // The connection closes first (resources close in reverse): a failed assertion releases its lock, and
        // the waiting quarantine and decisions can finish.
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
             Connection recording = DriverManager.getConnection(STACK.postgresUrl(), STACK.appUser(), STACK.appPassword())) {
            // A grant being recorded: it holds the agent's quarantine lock shared, as the recording statement does.
            recording.setAutoCommit(false);
            try (PreparedStatement hold = recording.prepareStatement("select quarantine_holds(?, ?)")) {
                hold.setString(1, tenant);
                hold.setString(2, AGENT);
                try (ResultSet rs = hold.executeQuery()) {
                    assertThat(rs.next() && !rs.getBoolean(1)).isTrue();
                }
            }
            // The quarantine waits for that recording; its state is not committed yet.
            Future<Api.Answer> quarantine = pool.submit(this::quarantineAgent);
            awaitLockWaiters("ExclusiveLock", 1);
            // Decisions read the agent as not quarantined, get ALLOW and a minted token, and queue behind the quarantine.
            List<Future<Api.Answer>> grants = new ArrayList<>();
            for (int i = 0; i < racing; i++) {
                grants.add(pool.submit(() -> read(api())));
            }
            awaitLockWaiters("ShareLock", racing);
            assertThat(quarantine.isDone()).isFalse();

            recording.rollback();

            Api.Answer outcome = quarantine.get(60, TimeUnit.SECONDS);
            assertThat(outcome.status()).isEqualTo(200);
            assertThat(outcome.json().path("state").path("active").asBoolean()).isTrue();
            for (Future<Api.Answer> future : grants) {
                Api.Answer answer = future.get(60, TimeUnit.SECONDS);
                assertThat(answer.text("outcome")).isEqualTo("DENY");
                assertThat(answer.json().path("reasons").toString()).isEqualTo("[\"quarantined\"]");
                assertThat(answer.json().has("credential")).isFalse();
                // The record says what happened: DENY, with the credential that was minted and withheld.
                Api.Answer stored = api().get("/v1/decisions/" + answer.text("decision_id"), decide);
                assertThat(stored.text("outcome")).isEqualTo("DENY");
                assertThat(revokedAt(UUID.fromString(answer.text("decision_id")))).isTrue();
            }
        }
        // The minted tokens are dead in OpenBao, not only marked in the database.
        List<String> accessors = jdbc.sql("select accessor from issued_credential where tenant_id = ?").param(tenant)
                .query(String.class).list();
        assertThat(accessors).hasSize(racing);
        for (String accessor : accessors) {
            VaultProbe.Reply lookup = vault.call("POST", "auth/token/lookup-accessor", STACK.vaultRootToken(),
                    "{\"accessor\":\"" + accessor + "\"}");
            assertThat(lookup.status()).as("lookup of a withheld token's accessor").isEqualTo(400);
        }
        Api.Answer state = api().get("/v1/agents/" + AGENT + "/quarantine", admin);
        assertThat(state.json().path("state").path("pending_revocations").asInt()).isZero();
        assertThat(state.json().path("history").findValuesAsString("action")).filteredOn("REVOKE"::equals).hasSize(racing);
        assertThat(api().get("/v1/audit/verify", admin).json().path("valid").asBoolean()).isTrue();
    }

    /** Whether the credential this decision minted is recorded and revoked. */
    private boolean revokedAt(UUID decisionId) {
        return jdbc.sql("select revoked_at is not null from issued_credential where decision_id = ?").param(decisionId)
                .query(Boolean.class).optional().orElse(false);
    }

    /** Waits (bounded) until {@code count} requests of the agent's quarantine lock in {@code mode} are waiting. */
    private void awaitLockWaiters(String mode, int count) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        long waiting;
        do {
            Thread.sleep(20);
            waiting = jdbc.sql("""
                    select count(*) from pg_locks
                    where locktype = 'advisory' and objsubid = 2 and not granted and mode = ?
                      and objid::bigint = (agent_lock_key(?, ?)::bigint & 4294967295)
                    """).params(mode, tenant, AGENT).query(Long.class).single();
        } while (waiting < count && System.nanoTime() < deadline);
        assertThat(waiting).as(mode + " waiters on the agent's quarantine lock").isEqualTo(count);
    }
}
