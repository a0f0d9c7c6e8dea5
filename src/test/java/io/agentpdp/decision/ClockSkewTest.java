package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.support.GenericApplicationContext;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/**
 * Two more replicas on the same database, one whose clock runs an hour behind and one an hour ahead.
 * The database's clock decides approval expiry, stamps decisions and bounds the trigger windows, so the
 * replicas agree with each other and with the database: an approval the database calls expired is DENY
 * on the lagging replica, one it calls valid is honoured on the leading one (the database is the one
 * authority, so honouring it is the consistent answer; the spend itself is checked there too), and a
 * DENY burst spread over both replicas still trips the trigger. What only a replica's clock can judge,
 * token expiry, is guarded by readiness: a replica that far off reports itself not ready.
 */
class ClockSkewTest extends IntegrationTest {

    private static final Duration SKEW = Duration.ofHours(1);

    private static ConfigurableApplicationContext lagging;
    private static ConfigurableApplicationContext leading;

    private String tenant;
    private String gateway;

    @BeforeAll
    static void startSkewedReplicas() {
        lagging = replica(SKEW.negated());
        leading = replica(SKEW);
    }

    @AfterAll
    static void stopSkewedReplicas() {
        lagging.close();
        leading.close();
    }

    @BeforeEach
    void setUp() {
        tenant = newTenant();
        // Valid for both replicas: until two hours from now, no not-before.
        gateway = TestJwts.tokenValid("gw-1", tenant, null, Instant.now().plus(SKEW.multipliedBy(2)), "decide");
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read", "crm.contacts.delete"}, new String[] {"crm"});
    }

    private Map<String, Object> delete() {
        return request(tenant, "agent-7", "crm.contacts.delete", "delete", "crm", "contacts/42", "internal");
    }

    /** STEP_UP through the correct replica, approved by bob: the approval's id. */
    private String approvedDelete() {
        Api.Answer stepUp = api().post("/v1/decisions", gateway, delete());
        assertThat(stepUp.text("outcome")).as(stepUp.body()).isEqualTo("STEP_UP");
        String approvalId = stepUp.json().path("approval").path("id").asString();
        Api.Answer approved = api().post("/v1/approvals/" + approvalId + "/approve",
                TestJwts.token("bob", tenant, "approver"), Map.of("comment", "ok"));
        assertThat(approved.text("status")).as(approved.body()).isEqualTo("APPROVED");
        return approvalId;
    }

    private Api.Answer retry(ConfigurableApplicationContext replica, String approvalId) {
        Map<String, Object> body = delete();
        body.put("approval_id", approvalId);
        return api(replica).post("/v1/decisions", gateway, body);
    }

    private Instant databaseNow() {
        return jdbc.sql("select now()").query(Timestamp.class).single().toInstant();
    }

    @Test
    void anApprovalTheDatabaseCallsExpiredIsDeniedOnTheLaggingReplica() {
        String approvalId = approvedDelete();
        // Expired a second ago by the database; by the lagging replica's clock it still has an hour to run.
        jdbc.sql("update approval set expires_at = now() - interval '1 second' where id = cast(? as uuid)").param(approvalId).update();

        Api.Answer answer = retry(lagging, approvalId);
        assertThat(answer.text("outcome")).as(answer.body()).isEqualTo("DENY");
        assertThat(reasons(answer)).containsExactly("approval_invalid", "approval_expired");
        assertThat(answer.json().has("credential")).isFalse();
        assertThat(jdbc.sql("select status from approval where id = cast(? as uuid)").param(approvalId).query(String.class).single())
                .isIn("APPROVED", "EXPIRED");
    }

    @Test
    void anApprovalTheDatabaseCallsValidIsHonouredOnTheLeadingReplica() {
        String approvalId = approvedDelete();
        // Valid for five more minutes by the database; by the leading replica's clock it expired 55 minutes ago.
        Api.Answer answer = retry(leading, approvalId);
        assertThat(answer.text("outcome")).as(answer.body()).isEqualTo("ALLOW");
        assertThat(reasons(answer)).contains("approved_by_human");
        assertThat(jdbc.sql("select status from approval where id = cast(? as uuid)").param(approvalId).query(String.class).single())
                .isEqualTo("CONSUMED");

        // The decision and its credential are stated on the database's time line, not the replica's.
        Instant now = databaseNow();
        assertThat(Instant.parse(answer.text("decided_at"))).isCloseTo(now, within(1, ChronoUnit.MINUTES));
        Instant expiresAt = Instant.parse(answer.json().path("credential").path("expires_at").asString());
        assertThat(expiresAt).isCloseTo(now.plusSeconds(answer.json().path("credential").path("ttl_seconds").asLong()),
                within(1, ChronoUnit.MINUTES));
        assertThat(jdbc.sql("select expires_at from issued_credential where decision_id = cast(? as uuid)")
                .param(answer.text("decision_id")).query(Timestamp.class).single().toInstant())
                .isCloseTo(expiresAt, within(1, ChronoUnit.MILLIS));
        assertThat(jdbc.sql("select decided_at from decision_record where id = cast(? as uuid)")
                .param(answer.text("decision_id")).query(Timestamp.class).single().toInstant())
                .isCloseTo(now, within(1, ChronoUnit.MINUTES));
    }

    @Test
    void aDenyBurstSpreadOverSkewedReplicasStillQuarantines() {
        // A depth claimed without a parent (derived: 0): a plain policy DENY that does not ask for quarantine itself.
        Map<String, Object> tooDeep = request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public");
        tooDeep.put("task", Map.of("id", "t", "intent", "loop", "chain_depth", 6));
        for (int i = 0; i < 4; i++) {
            Api.Answer answer = api(lagging).post("/v1/decisions", gateway, tooDeep);
            assertThat(reasons(answer)).containsExactly("chain_mismatch");
        }
        // The fifth, through the replica an hour ahead: the four are within its window all the same.
        Api.Answer fifth = api(leading).post("/v1/decisions", gateway, tooDeep);
        assertThat(reasons(fifth)).contains("quarantine_trigger:deny_burst");
    }

    @Test
    void aReplicaWhoseClockIsOffIsNotReady() throws Exception {
        assertThat(readiness(lagging)).startsWith("503 ").contains("\"clock\":{\"status\":\"DOWN\"");
        assertThat(readiness(leading)).startsWith("503 ").contains("\"clock\":{\"status\":\"DOWN\"");
    }

    private static String readiness(ConfigurableApplicationContext replica) throws Exception {
        String port = replica.getEnvironment().getProperty("local.management.port");
        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health/readiness")).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode() + " " + response.body();
    }

    private static List<String> reasons(Api.Answer answer) {
        List<String> reasons = new ArrayList<>();
        answer.json().path("reasons").forEach(reason -> reasons.add(reason.asString()));
        return reasons;
    }

    private static Api api(ConfigurableApplicationContext replica) {
        return new Api(((WebServerApplicationContext) replica).getWebServer().getPort());
    }

    /** A replica whose {@link Clock} is off by {@code offset}. */
    private static ConfigurableApplicationContext replica(Duration offset) {
        return replica(new ApplicationContextInitializer<GenericApplicationContext>() {
            @Override
            public void initialize(GenericApplicationContext context) {
                context.registerBean("skewedClock", Clock.class, () -> Clock.offset(Clock.systemUTC(), offset),
                        definition -> definition.setPrimary(true));
            }
        });
    }
}
