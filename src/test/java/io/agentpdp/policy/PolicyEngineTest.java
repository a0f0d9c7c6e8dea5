package io.agentpdp.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.TestStack;
import tools.jackson.databind.json.JsonMapper;

/** The OPA client against the real OPA of the test stack, outside Spring. */
class PolicyEngineTest {

    private static final TestStack.Endpoints STACK = TestStack.get();

    private static PolicyEngine engine(String path) {
        return new PolicyEngine(new PolicyProperties(URI.create(STACK.opaUrl()), path, Duration.ofSeconds(2),
                Duration.ofMillis(500), Duration.ofHours(1), 100, 8), JsonMapper.builder().build());
    }

    private static Map<String, Object> lowRiskRead() {
        return Map.of(
                "tenant", "acme",
                "caller", Map.of("subject", "gw", "tenant", "acme", "scopes", List.of("decide")),
                "agent", Map.of("id", "a", "registered", true, "enabled", true, "owner", "o", "allowed_tools", List.of("crm.read"),
                        "home_systems", List.of("crm"), "workload_identity", Map.of("verified", true, "required", true,
                                "spiffe_id", "spiffe://acme.test/agents/a", "trust_domain", "acme.test")),
                "task", Map.of("id", "t", "intent", "i", "chain_depth", 0),
                "tool", Map.of("name", "crm.read", "registered", true, "target_system", "crm", "targets_system", true,
                        "action_kinds", List.of("read"), "credential_profile", Map.of("name", "p", "kind", "token",
                                "grantable", List.of("tenant.acme.crm-read"), "per_agent", false, "max_ttl_seconds", 3600,
                                "max_uses", 100)),
                "action", Map.of("kind", "read"),
                "target", Map.of("system", "crm", "resource", "x"),
                "classification", Map.of("declared", "internal", "effective", "internal"),
                "quarantine", Map.of("active", false),
                "context", Map.of());
    }

    @Test
    void aWellFormedResultIsParsedWithTheBundleRevision() throws Exception {
        PolicyEngine.Result result = engine("agentpdp/decision/result").evaluate(lowRiskRead());
        assertThat(result.outcome()).isEqualTo(PolicyEngine.Outcome.ALLOW);
        assertThat(result.credential().policies()).containsExactly("tenant.acme.crm-read");
        assertThat(result.credential().numUses()).isEqualTo(10);
        assertThat(result.credential().ttl()).isEqualTo(Duration.ofSeconds(300));
        assertThat(result.revision()).matches("[0-9a-f]{16}");
    }

    @Test
    void opaRefusesEveryQueryButTheDecisionAndThatIsADenyReason() {
        // OPA runs with --authorization=basic and policies/system/authz.rego (as the Helm sidecar does):
        // another data path, even a real document of the decision package, is refused with 401.
        for (String path : List.of("agentpdp/decision/does_not_exist", "agentpdp/decision", "system/authz/allow")) {
            assertThatThrownBy(() -> engine(path).evaluate(lowRiskRead()))
                    .as(path)
                    .isInstanceOf(PolicyEngine.PolicyUnavailableException.class)
                    .extracting(e -> ((PolicyEngine.PolicyUnavailableException) e).reason())
                    .isEqualTo("policy_engine_error");
        }
    }

    @Test
    void aResultOfTheWrongShapeIsInvalid() {
        // A real document that is not a decision: the package's helper value, not the result object.
        JsonMapper json = JsonMapper.builder().build();
        assertThatThrownBy(() -> engine("agentpdp/decision/result")
                .parse(json.readTree("{\"default_max_chain_depth\":5,\"result\":{\"outcome\":\"DENY\"}}"), "rev"))
                .isInstanceOf(PolicyEngine.PolicyUnavailableException.class)
                .extracting(e -> ((PolicyEngine.PolicyUnavailableException) e).reason())
                .isEqualTo("policy_result_invalid");
    }

    @Test
    void theReuseFlagIsABooleanOrAbsent() throws Exception {
        PolicyEngine engine = engine("agentpdp/decision/result");
        JsonMapper json = JsonMapper.builder().build();
        String grant = "{\"outcome\":\"ALLOW\",\"reasons\":[\"r\"],\"obligations\":[],"
                + "\"credential\":{\"policies\":[\"p\"],\"ttl_seconds\":60,\"num_uses\":2%s}}";
        assertThat(engine.parse(json.readTree(grant.formatted("")), "rev").credential().reuse()).isFalse();
        assertThat(engine.parse(json.readTree(grant.formatted(",\"reuse\":false")), "rev").credential().reuse()).isFalse();
        assertThat(engine.parse(json.readTree(grant.formatted(",\"reuse\":true")), "rev").credential().reuse()).isTrue();
        for (String broken : List.of(",\"reuse\":\"true\"", ",\"reuse\":1", ",\"reuse\":{}")) {
            assertThatThrownBy(() -> engine.parse(json.readTree(grant.formatted(broken)), "rev"))
                    .as(broken)
                    .isInstanceOf(PolicyEngine.PolicyUnavailableException.class)
                    .extracting(e -> ((PolicyEngine.PolicyUnavailableException) e).reason())
                    .isEqualTo("policy_result_invalid");
        }
    }

    @Test
    void anEmptyInputIsDeniedByTheDefaultRule() throws Exception {
        PolicyEngine.Result result = engine("agentpdp/decision/result").evaluate(Map.of());
        assertThat(result.outcome()).isEqualTo(PolicyEngine.Outcome.DENY);
        assertThat(result.credential()).isNull();
    }
}
