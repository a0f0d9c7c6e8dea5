package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;

import com.zaxxer.hikari.HikariDataSource;

import io.agentpdp.support.Api;
import io.agentpdp.support.TestJwts;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Long-polls are served by the change notification, not by a query loop per request: many concurrent waits
 * cost one read each to start and one to end, hold no database connection while they wait, all end when the
 * approval is decided, and are capped per caller and tenant. The poll interval is an hour and the sweeper is
 * off here, so a wait that ends before its deadline was woken by a notification or by its own expiry time.
 * Tomcat has 20 request threads here and 200 waits hold none of them (servlet async): the other requests made
 * while they wait are answered.
 */
@TestPropertySource(properties = {"server.tomcat.threads.max=20", "pdp.approval.poll-interval=1h", "pdp.approval.sweep-interval=1h",
        "pdp.approval.max-waits-per-caller=100", "pdp.approval.max-waits-per-tenant=200",
        "pdp.api-limits.caller-burst=100000", "pdp.api-limits.tenant-burst=100000"})
@DirtiesContext(classMode = DirtiesContext.ClassMode.AFTER_CLASS)
class ApprovalWaitTest extends ApprovalTestBase {

    private static final int PER_CALLER = 100;

    @Autowired
    private ApprovalChanges changes;

    @Autowired
    private MeterRegistry meters;

    @Autowired
    private DataSource dataSource;

    @BeforeEach
    void listenerIsUp() throws InterruptedException {
        eventually(Duration.ofSeconds(20), changes::listening);
    }

    private double reads() {
        return meters.get("pdp.approval.wait.reads").counter().count();
    }

    private static CompletableFuture<Api.Answer> waitFor(ExecutorService pool, Api api, String token, String id, String wait) {
        return CompletableFuture.supplyAsync(() -> api.get("/v1/approvals/" + id + "?wait=" + wait, token), pool);
    }

    @Test
    void twoHundredWaitsCostTwoReadsEachHoldNoConnectionAndAllEndWhenTheApprovalIsDecided() throws Exception {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        Api api = api();
        String gateway1 = TestJwts.token("gw-1", tenant, "decide");
        String gateway2 = TestJwts.token("gw-2", tenant, "decide");
        HikariDataSource pool = (HikariDataSource) dataSource;
        double readsBefore = reads();
        List<CompletableFuture<Api.Answer>> waits = new ArrayList<>();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < PER_CALLER; i++) {
                waits.add(waitFor(clients, api, gateway1, id, "30s"));
            }
            eventually(Duration.ofSeconds(30), () -> changes.waiting() == PER_CALLER);

            // The caller's cap: one more wait of gw-1 is refused before it reads anything.
            Api.Answer overCallerCap = api.get("/v1/approvals/" + id + "?wait=30s", gateway1);
            assertThat(overCallerCap.status()).as(overCallerCap.body()).isEqualTo(429);
            assertThat(overCallerCap.header("Retry-After")).isNotBlank();
            assertThat(overCallerCap.text("detail")).contains("concurrent waits", "this caller");

            for (int i = 0; i < PER_CALLER; i++) {
                waits.add(waitFor(clients, api, gateway2, id, "30s"));
            }
            eventually(Duration.ofSeconds(30), () -> changes.waiting() == 2 * PER_CALLER);

            // The tenant's cap: a third gateway with no wait of its own is refused too.
            Api.Answer overTenantCap = api.get("/v1/approvals/" + id + "?wait=30s", TestJwts.token("gw-3", tenant, "decide"));
            assertThat(overTenantCap.status()).as(overTenantCap.body()).isEqualTo(429);
            assertThat(overTenantCap.text("detail")).contains("concurrent waits", "this tenant");
            // A read without waiting is not capped, and is answered although 200 waits outnumber the request threads.
            assertThat(api.get("/v1/approvals/" + id, TestJwts.token("gw-3", tenant, "decide")).status()).isEqualTo(200);
            decide(tenant, request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/47", "internal"));

            // Parked: each wait has read the request once (and no more), and none holds a pooled connection.
            eventually(Duration.ofSeconds(30), () -> reads() - readsBefore >= 2 * PER_CALLER);
            assertThat(reads() - readsBefore).isEqualTo(2 * PER_CALLER);
            assertThat(pool.getHikariPoolMXBean().getActiveConnections()).isLessThanOrEqualTo(3);
            assertThat(waits).noneMatch(CompletableFuture::isDone);

            assertThat(approve(tenant, id, "bob").status()).isEqualTo(200);
            // Well before the 30 s deadline of the waits: they were woken by the change.
            CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
        }
        for (CompletableFuture<Api.Answer> wait : waits) {
            Api.Answer answer = wait.join();
            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            assertThat(answer.text("status")).isEqualTo("APPROVED");
            assertThat(answer.json().path("votes")).hasSize(1);
        }
        assertThat(reads() - readsBefore).as("one read to start and one when woken, per wait").isEqualTo(4 * PER_CALLER);
        eventually(Duration.ofSeconds(5), () -> changes.waiting() == 0);
    }

    @Test
    void aWaitEndsWhenTheRequestExpiresWithoutPollingOrTheSweeper() throws Exception {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/43"));
        jdbc.sql("update approval set expires_at = now() + interval '3 seconds' where id = cast(? as uuid)").param(id).update();
        double readsBefore = reads();
        Api.Answer answer = CompletableFuture.supplyAsync(() -> api().get("/v1/approvals/" + id + "?wait=30s",
                TestJwts.token(GATEWAY, tenant, "decide"))).get(20, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.text("status")).isEqualTo("EXPIRED");
        assertThat(storedStatus(id)).as("nobody marked it: the wait ended on the expiry time").isEqualTo("PENDING");
        // One read to start and one at the expiry time; the fixture's own update of expires_at notifies too, and
        // when that notification lands after the wait began it wakes one more read. Polling is off (1h).
        assertThat(reads() - readsBefore).isBetween(2.0, 3.0);
    }

    @Test
    void aChangeMadeWhileTheListenerIsDisconnectedIsSeenWhenItReconnects() throws Exception {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/46"));
        CompletableFuture<Api.Answer> wait = CompletableFuture.supplyAsync(() -> api().get("/v1/approvals/" + id + "?wait=30s",
                TestJwts.token(GATEWAY, tenant, "decide")));
        eventually(Duration.ofSeconds(20), () -> changes.waiting() == 1);

        // The listener's session ends (a database restart or failover looks the same); the vote's notification is lost.
        int listener = changes.backendPid();
        assertThat(jdbc.sql("select pg_terminate_backend(?)").param(listener).query(Boolean.class).single()).isTrue();
        eventually(Duration.ofSeconds(20), () -> !changes.listening());
        assertThat(approve(tenant, id, "bob").status()).isEqualTo(200);

        // The poll interval is an hour: only the wake-up on reconnect can end this wait before its deadline.
        Api.Answer answer = wait.get(20, TimeUnit.SECONDS);
        assertThat(answer.text("status")).isEqualTo("APPROVED");
        assertThat(changes.listening()).isTrue();
        assertThat(changes.backendPid()).isNotEqualTo(listener);
    }

    @Test
    void aWaitOnAnUndecidedRequestEndsAtItsDeadlineStillPending() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/44"));
        double readsBefore = reads();
        Api.Answer answer = api().get("/v1/approvals/" + id + "?wait=300ms", TestJwts.token(GATEWAY, tenant, "decide"));
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.text("status")).isEqualTo("PENDING");
        assertThat(reads() - readsBefore).isEqualTo(2);
    }

    @Test
    void aWaitForAnotherTenantsRequestIs404AndFreesItsSlot() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/45"));
        Api.Answer answer = api().get("/v1/approvals/" + id + "?wait=5s", TestJwts.token(GATEWAY, newTenant(), "decide"));
        assertThat(answer.status()).isEqualTo(404);
        assertThat(changes.waiting()).isZero();
    }
}
