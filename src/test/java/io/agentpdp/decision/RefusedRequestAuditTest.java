package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Every refused decision request of a known caller has exactly one DENY record in the caller's tenant
 * (reasons {@code request_refused, http_<status>}), named in the problem answer; the request's fields
 * are kept only as far as they could be read, and the chain stays valid. Unknown callers leave no trace
 * in any tenant's trail, only in a counter.
 */
class RefusedRequestAuditTest extends IntegrationTest {

    @Autowired
    private MeterRegistry meters;

    private final String tenant = newTenant();
    private final String token = TestJwts.token("gw-1", tenant, "decide");

    @BeforeEach
    void registerTheAgent() {
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
    }

    private Map<String, Object> valid() {
        return lowRiskRead(tenant);
    }

    /** What the trail holds about one refusal, as GET /v1/decisions/{id} shows it. */
    private record Refusal(String agent, String task, int chainDepth, String tool, String action, String resource,
                           String declared, List<String> reasons, String caller) {
    }

    /** The answer is a recorded refusal: problem+json DENY naming the tenant's only record. */
    private Refusal assertRecordedRefusal(Api.Answer answer, int status) {
        assertThat(answer.status()).as(answer.body()).isEqualTo(status);
        assertThat(answer.contentType()).startsWith("application/problem+json");
        assertThat(answer.text("decision")).isEqualTo("DENY");
        String decisionId = answer.text("decision_id");
        assertThat(decisionId).as("the problem names its record").isNotNull();
        assertThat(jdbc.sql("select id::text from decision_record where tenant_id = ?").param(tenant).query(String.class).list())
                .as("exactly one record, in the caller's tenant").containsExactly(decisionId);

        Api.Answer stored = api().get("/v1/decisions/" + decisionId, token);
        assertThat(stored.status()).isEqualTo(200);
        assertThat(stored.text("outcome")).isEqualTo("DENY");
        assertThat(stored.json().path("classification").path("effective").asString()).isEqualTo(RefusalRecorder.UNKNOWN);
        assertThat(stored.json().has("credential") && !stored.json().get("credential").isNull()).isFalse();
        assertChainValid(1);
        List<String> reasons = new ArrayList<>();
        stored.json().path("reasons").forEach(reason -> reasons.add(reason.asString()));
        return new Refusal(stored.text("agent_id"), stored.text("task_id"), stored.json().path("chain_depth").asInt(),
                stored.text("tool"), stored.text("action"), stored.text("target_resource"),
                stored.json().path("classification").path("declared").asString(), reasons, stored.text("caller"));
    }

    private void assertChainValid(long records) {
        Api.Answer chain = verifyLinked(tenant);
        assertThat(chain.json().path("valid").asBoolean()).as(chain.body()).isTrue();
        assertThat(chain.json().path("records_checked").asLong()).isEqualTo(records);
    }

    @Test
    void malformedJsonIsRecordedWithPlaceholders() {
        Refusal refusal = assertRecordedRefusal(api().post("/v1/decisions", token, "{\"tenant\": "), 400);
        assertThat(refusal.reasons()).containsExactly("request_refused", "http_400");
        assertThat(refusal.caller()).isEqualTo("gw-1");
        assertThat(List.of(refusal.agent(), refusal.task(), refusal.tool(), refusal.action(), refusal.resource(), refusal.declared()))
                .containsOnly(RefusalRecorder.UNKNOWN);
        assertThat(refusal.chainDepth()).isEqualTo(-1);
    }

    @Test
    void aValidationFailureKeepsWhatTheBodyClaimedAsUntrustedText() {
        Map<String, Object> body = valid();
        body.put("action", "launch_missiles");
        body.put("tool", "crm.contacts.re\u0430d"); // a Cyrillic look-alike: kept as evidence
        body.put("target", Map.of("system", "crm", "resource", "contacts/\u0000evil\u001f\u001e" + "x".repeat(600)));
        Refusal refusal = assertRecordedRefusal(api().post("/v1/decisions", token, body), 400);
        assertThat(refusal.reasons()).containsExactly("request_refused", "http_400");
        assertThat(refusal.agent()).isEqualTo("agent-7");
        assertThat(refusal.task()).isEqualTo("task-1");
        assertThat(refusal.chainDepth()).isZero();
        assertThat(refusal.tool()).isEqualTo("crm.contacts.re\u0430d");
        assertThat(refusal.action()).isEqualTo("launch_missiles");
        // Control characters (among them the record's own field separators) stripped, cut to the contract's 512.
        assertThat(refusal.resource()).startsWith("contacts/evilxxx").hasSize(512).doesNotContainPattern("\\p{Cntrl}");
        assertThat(refusal.declared()).isEqualTo("public");
    }

    @Test
    void anOversizedBodyIsRecordedUnread() {
        Map<String, Object> body = valid();
        body.put("context", Map.of("blob", "x".repeat(70_000)));
        Refusal refusal = assertRecordedRefusal(api().post("/v1/decisions", token, body), 413);
        assertThat(refusal.reasons()).containsExactly("request_refused", "http_413");
        assertThat(refusal.agent()).as("a body over the limit is never read").isEqualTo(RefusalRecorder.UNKNOWN);
    }

    @Test
    void aWrongMediaTypeIsRecorded() {
        Refusal refusal = assertRecordedRefusal(api().postRaw("/v1/decisions", token, "text/plain",
                HttpRequest.BodyPublishers.ofString("hello")), 415);
        assertThat(refusal.reasons()).containsExactly("request_refused", "http_415");
    }

    @Test
    void anUnacceptableAcceptHeaderIsRecorded() {
        Refusal refusal = assertRecordedRefusal(api().postAccepting("/v1/decisions", token, "text/html", valid()), 406);
        assertThat(refusal.reasons()).containsExactly("request_refused", "http_406");
        assertThat(refusal.tool()).isEqualTo("crm.contacts.read");
    }

    @Test
    void aCallerWithoutTheDecideScopeIsRecordedUnderItsTenant() {
        String approver = TestJwts.token("human-1", tenant, "approver");
        Refusal refusal = assertRecordedRefusal(api().post("/v1/decisions", approver, valid()), 403);
        assertThat(refusal.reasons()).containsExactly("request_refused", "http_403");
        assertThat(refusal.caller()).isEqualTo("human-1");
        assertThat(refusal.agent()).as("read after the refusal, best effort").isEqualTo("agent-7");
    }

    @Test
    void unknownCallersAreCountedButNeverRecorded() {
        double before = meters.counter("pdp.requests.unauthenticated").count();
        assertThat(api().post("/v1/decisions", null, valid()).status()).isEqualTo(401);
        assertThat(api().post("/v1/decisions", TestJwts.expiredToken("gw-1", tenant, "decide"), valid()).status()).isEqualTo(401);
        assertThat(api().post("/v1/decisions", TestJwts.foreignToken("gw-1", tenant, "decide"), "{\"tenant\": ").status()).isEqualTo(401);
        // Not even an oversized body is looked at before authentication: 401, not 413.
        Map<String, Object> big = valid();
        big.put("context", Map.of("blob", "x".repeat(70_000)));
        assertThat(api().post("/v1/decisions", null, big).status()).isEqualTo(401);
        // A token without a tenant names no trail to write to.
        assertThat(api().post("/v1/decisions", TestJwts.token("gw-1", null, "decide"), "{\"tenant\": ").status()).isEqualTo(403);

        assertThat(meters.counter("pdp.requests.unauthenticated").count() - before).isEqualTo(4);
        assertThat(jdbc.sql("select count(*) from decision_record where tenant_id = ?").param(tenant).query(Long.class).single()).isZero();
    }

    @Test
    void refusalsDoNotFeedTheQuarantineTriggers() {
        // Five refusals naming agent-7 are not five DENYs of agent-7 (the default burst threshold is 5): its
        // next DENY stays an ordinary DENY and does not quarantine it.
        for (int i = 0; i < 5; i++) {
            Map<String, Object> body = valid();
            body.put("action", "launch_missiles");
            assertThat(api().post("/v1/decisions", token, body).status()).isEqualTo(400);
        }
        Map<String, Object> lying = valid();
        lying.put("task", Map.of("id", "t", "intent", "loop", "chain_depth", 6));
        Api.Answer next = api().post("/v1/decisions", token, lying);
        assertThat(next.text("outcome")).isEqualTo("DENY");
        assertThat(next.json().path("reasons").toString()).contains("chain_mismatch").doesNotContain("quarantined");
        assertChainValid(6);
    }
}
