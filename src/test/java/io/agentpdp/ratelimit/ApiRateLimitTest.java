package io.agentpdp.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;
import org.yaml.snakeyaml.Yaml;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.TestStack;

/**
 * Every API but the decide call is limited per caller and per tenant at one edge: over a limit the answer is
 * a 429 problem with Retry-After, whichever endpoint, scope refusals included. Refill is ~0 here (0.001/s):
 * only the bursts count.
 */
@TestPropertySource(properties = {"pdp.api-limits.caller-per-second=0.001", "pdp.api-limits.caller-burst=3",
        "pdp.api-limits.tenant-per-second=0.001", "pdp.api-limits.tenant-burst=6"})
@DirtiesContext(classMode = DirtiesContext.ClassMode.AFTER_CLASS)
class ApiRateLimitTest extends IntegrationTest {

    private static void assertLimited(Api.Answer answer, String whose) {
        assertThat(answer.status()).as(answer.body()).isEqualTo(429);
        assertThat(answer.contentType()).startsWith("application/problem+json");
        assertThat(Long.parseLong(answer.header("Retry-After"))).isPositive();
        assertThat(answer.text("detail")).contains("rate limit of this " + whose);
    }

    @Test
    void aCallerOverItsLimitGets429WithRetryAfterOnApprovalsQuarantineAndAudit() {
        String tenant = newTenant();
        String admin = TestJwts.token("sec", tenant, "security-admin");
        assertThat(api().get("/v1/audit/verify", admin).status()).isEqualTo(200);
        assertThat(api().get("/v1/agents/agent-7/quarantine", admin).status()).isEqualTo(200);
        assertThat(api().get("/v1/audit/verify", admin).status()).isEqualTo(200);
        // One bucket per caller across every endpoint.
        assertLimited(api().get("/v1/agents/agent-7/quarantine", admin), "caller");
        assertLimited(api().get("/v1/audit/verify", admin), "caller");
        assertLimited(api().post("/v1/agents/agent-7/quarantine", admin, Map.of("reason", "test")), "caller");

        // Another caller of the tenant has its own allowance; the same subject in another tenant too.
        String approver = TestJwts.token("bob", tenant, "approver");
        assertThat(api().get("/v1/approvals", approver).status()).isEqualTo(200);
        assertThat(api().get("/v1/audit/verify", TestJwts.token("sec", newTenant(), "security-admin")).status()).isEqualTo(200);
    }

    @Test
    void aTenantOverItsLimitGets429ForEveryCallerOfIt() {
        String tenant = newTenant();
        for (String approver : List.of("bob", "carol")) {
            for (int i = 0; i < 3; i++) {
                assertThat(api().get("/v1/approvals", TestJwts.token(approver, tenant, "approver")).status()).isEqualTo(200);
            }
        }
        assertLimited(api().get("/v1/approvals", TestJwts.token("dave", tenant, "approver")), "tenant");
        assertLimited(api().get("/v1/decisions/" + java.util.UUID.randomUUID(), TestJwts.token("gw-1", tenant, "decide")), "tenant");
        // Other tenants are not affected.
        assertThat(api().get("/v1/approvals", TestJwts.token("dave", newTenant(), "approver")).status()).isEqualTo(200);
    }

    @Test
    void requestsRefusedForScopeSpendTheCallersAllowanceToo() {
        String tenant = newTenant();
        String gateway = TestJwts.token("gw-1", tenant, "decide");
        for (int i = 0; i < 3; i++) {
            assertThat(api().get("/v1/audit/verify", gateway).status()).isEqualTo(403);
        }
        assertLimited(api().get("/v1/audit/verify", gateway), "caller");
    }

    @Test
    void theDecideCallIsLimitedOnlyByItsOwnLimiter() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "o", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        String gateway = TestJwts.token("gw-1", tenant, "decide");
        for (int i = 0; i < 8; i++) {
            Api.Answer answer = api().post("/v1/decisions", gateway, lowRiskRead(tenant));
            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            assertThat(answer.text("outcome")).isEqualTo("ALLOW");
        }
        // The decisions spent nothing of the API allowance: the gateway can still read three of them.
        for (int i = 0; i < 3; i++) {
            assertThat(api().get("/v1/decisions/" + java.util.UUID.randomUUID(), gateway).status()).isEqualTo(404);
        }
        assertLimited(api().get("/v1/decisions/" + java.util.UUID.randomUUID(), gateway), "caller");
    }

    /** "Every later API": the contract must declare the 429 (with Retry-After) on every operation it adds. */
    @Test
    @SuppressWarnings("unchecked")
    void everyOperationOfTheContractDeclaresItsRateLimit() throws Exception {
        Map<String, Object> spec = new Yaml().load(Files.readString(TestStack.projectRoot().resolve("openapi.yaml")));
        Map<String, Object> responses = (Map<String, Object>) ((Map<String, Object>) spec.get("components")).get("responses");
        Set<String> methods = Set.of("get", "put", "post", "delete", "patch");
        List<String> missing = new ArrayList<>();
        int operations = 0;
        for (Map.Entry<String, Object> path : ((Map<String, Object>) spec.get("paths")).entrySet()) {
            for (Map.Entry<String, Object> operation : ((Map<String, Object>) path.getValue()).entrySet()) {
                if (!methods.contains(operation.getKey())) {
                    continue;
                }
                operations++;
                Map<String, Object> answers = (Map<String, Object>) ((Map<String, Object>) operation.getValue()).get("responses");
                Object tooMany = answers.get("429");
                if (tooMany instanceof Map<?, ?> reference && reference.get("$ref") instanceof String ref) {
                    tooMany = responses.get(ref.substring(ref.lastIndexOf('/') + 1));
                }
                boolean declared = tooMany instanceof Map<?, ?> answer && answer.get("headers") instanceof Map<?, ?> headers
                        && headers.containsKey("Retry-After");
                if (!declared) {
                    missing.add(operation.getKey().toUpperCase(Locale.ROOT) + " " + path.getKey());
                }
            }
        }
        assertThat(operations).isGreaterThanOrEqualTo(9);
        assertThat(missing).as("operations without a 429 + Retry-After answer").isEmpty();
    }
}
