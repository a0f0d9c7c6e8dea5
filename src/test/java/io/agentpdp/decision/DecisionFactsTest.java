package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.TestSvids;

/**
 * Issue 14, items 3-5 and their regression tests (item 7): a decision rests on what the registry and the audit
 * trail say, not on what the caller says. Enforcement points decide only for the agents bound to them; a tool is
 * used only as registered; the chain depth is derived from the parent's record.
 */
class DecisionFactsTest extends IntegrationTest {

    private static final String ROGUE = "gw-rogue";

    private Api.Answer decide(String subject, String tenant, Map<String, Object> body) {
        return api().post("/v1/decisions", TestJwts.token(subject, tenant, "decide"), body);
    }

    private record Recorded(String outcome, List<String> reasons, String cause, int chainDepth) {
    }

    private Recorded recorded(String decisionId) {
        return jdbc.sql("select outcome, reasons, cause, chain_depth from decision_record where id = cast(? as uuid)")
                .param(decisionId)
                .query((rs, n) -> new Recorded(rs.getString("outcome"), List.of((String[]) rs.getArray("reasons").getArray()),
                        rs.getString("cause"), rs.getInt("chain_depth")))
                .single();
    }

    private void assertNotBound(Api.Answer answer) {
        assertThat(answer.status()).isEqualTo(403);
        assertThat(answer.text("decision")).isEqualTo("DENY");
        assertThat(answer.text("decision_id")).isNotNull();
        Recorded record = recorded(answer.text("decision_id"));
        assertThat(record.outcome()).isEqualTo("DENY");
        assertThat(record.reasons()).containsExactly("enforcement_point_not_bound");
        assertThat(record.cause()).as("a refusal never feeds the triggers").isEqualTo("refusal");
    }

    // ---------------------------------------------------------------- item 3: enforcement points are bound

    @Test
    void aDecideTokenWithoutAnEnforcementPointIsRefusedAndRecorded() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        assertThat(decide("gw-1", tenant, lowRiskRead(tenant)).text("outcome")).isEqualTo("ALLOW");
        for (int i = 0; i < 6; i++) {
            assertNotBound(decide(ROGUE, tenant, lowRiskRead(tenant)));
        }
        // Six refusals are not six DENYs of agent-7: it is not quarantined.
        assertThat(decide("gw-1", tenant, lowRiskRead(tenant)).text("outcome")).isEqualTo("ALLOW");
    }

    @Test
    void anEnforcementPointDecidesOnlyForTheAgentsBoundToIt() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        bindAgentsTo(jdbc, tenant, ROGUE, "agent-8");
        assertNotBound(decide(ROGUE, tenant, lowRiskRead(tenant)));
        // An id bound but not registered is decided (DENY unknown_agent), not refused.
        Api.Answer unknown = decide(ROGUE, tenant, request(tenant, "agent-8", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(unknown.status()).isEqualTo(200);
        assertThat(unknown.json().path("reasons").toString()).contains("unknown_agent");
    }

    @Test
    void anotherTenantsEnforcementPointDoesNotCount() {
        String tenant = newTenant();
        String other = newTenant();
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        bindAgentsTo(jdbc, other, ROGUE, "agent-7");
        assertNotBound(decide(ROGUE, tenant, lowRiskRead(tenant)));
    }

    @Test
    void aDisabledEnforcementPointBindsNothing() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        bindAgentsTo(jdbc, tenant, ROGUE, "agent-7");
        assertThat(decide(ROGUE, tenant, lowRiskRead(tenant)).text("outcome")).isEqualTo("ALLOW");
        jdbc.sql("update enforcement_point set enabled = false where tenant_id = ? and principal = ?").params(tenant, ROGUE).update();
        assertNotBound(decide(ROGUE, tenant, lowRiskRead(tenant)));
    }

    @Test
    void aLabelSelectorBindsTheRegisteredAgentsCarryingAllItsLabels() {
        String tenant = newTenant();
        String admin = TestJwts.token("ops", tenant, "registry-admin");
        defaultProfile(tenant);
        assertThat(api().post("/v1/registry/tools", admin, Map.of("name", "crm.contacts.read", "target_system", "crm",
                "action_kinds", List.of("read"), "risk_tier", "low", "credential_profile", "test-default")).status()).isEqualTo(201);
        for (String[] agent : new String[][] {{"agent-7", "crm"}, {"agent-8", "hr"}}) {
            assertThat(api().post("/v1/registry/agents", admin, Map.of("id", agent[0],
                    "owner", Map.of("issuer", TestJwts.ISSUER, "subject", "alice"), "allowed_tools", List.of("crm.contacts.read"),
                    "home_systems", List.of("crm"), "labels", Map.of("team", agent[1], "env", "prod"),
                    "spiffe_ids", List.of(TestSvids.WORKLOAD_A))).status()).isEqualTo(201);
        }
        assertThat(api().post("/v1/registry/enforcement-points", admin, Map.of("principal", ROGUE,
                "agent_selectors", List.of(Map.of("team", "crm", "env", "prod")))).status()).isEqualTo(201);

        assertThat(decide(ROGUE, tenant, lowRiskRead(tenant)).text("outcome")).isEqualTo("ALLOW");
        assertNotBound(decide(ROGUE, tenant, request(tenant, "agent-8", "crm.contacts.read", "read", "crm", "contacts/1", "public")));
        // A selector never binds an id that is not registered (it has no labels).
        assertNotBound(decide(ROGUE, tenant, request(tenant, "agent-9", "crm.contacts.read", "read", "crm", "contacts/1", "public")));
    }

    @Test
    void anEnforcementPointPrincipalMustBeCanonical() {
        String tenant = newTenant();
        String admin = TestJwts.token("ops", tenant, "registry-admin");
        // The test issuer is case-insensitive: GW-9 is the principal gw-9, and must be registered so.
        Api.Answer upper = api().post("/v1/registry/enforcement-points", admin, Map.of("principal", "GW-9", "agent_ids", List.of("agent-7")));
        assertThat(upper.status()).isEqualTo(400);
        assertThat(upper.text("detail")).contains("'gw-9'");
        assertThat(api().post("/v1/registry/enforcement-points", admin, Map.of("principal", " gw-9", "agent_ids", List.of("agent-7")))
                .status()).isEqualTo(400);
        assertThat(api().post("/v1/registry/enforcement-points", admin, Map.of("principal", "gw-9", "agent_ids", List.of("agent-7")))
                .status()).isEqualTo(201);
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        assertThat(decide("GW-9", tenant, lowRiskRead(tenant)).text("outcome")).as("the token's subject, canonical").isEqualTo("ALLOW");
    }

    // ---------------------------------------------------------------- item 4: tool semantics from the registry

    @Test
    void kbReaderGetsNeitherSecretReadNorWriteCredentialsHoweverItAsks() {
        String tenant = newTenant();
        jdbc.sql("""
                insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, read_only, credential_profile,
                                  updated_by)
                values (?, 'kb.search', 'kb', array['read'], 'low', true, 'test-default', 'test')""").param(tenant).update();
        defaultProfile(tenant);
        jdbc.sql("insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, spiffe_ids) values (?, 'kb-reader', 'alice', ?, ?, ?)")
                .params(tenant, new String[] {"kb.search"}, new String[] {"kb"}, new String[] {TestSvids.WORKLOAD_A}).update();
        bindAgents(tenant, "kb-reader");

        Api.Answer read = decide("gw-1", tenant, request(tenant, "kb-reader", "kb.search", "read", "kb", "docs/1", "internal"));
        Api.Answer secret = decide("gw-1", tenant, request(tenant, "kb-reader", "kb.search", "secret_read", "kb", "docs/1", "internal"));
        assertThat(secret.json().path("reasons").toString()).isEqualTo("[\"action_not_allowed_for_tool\",\"tool_action_mismatch\",\"tool_read_only\"]");
        assertThat(read.text("outcome")).isEqualTo("ALLOW");
        // The credential follows kb.search's profile (test-default: the tenant's crm-read policy), nothing more.
        assertThat(read.json().path("credential").path("policies").toString()).isEqualTo("[\"tenant." + tenant + ".crm-read\"]");

        for (String action : List.of("secret_read", "write", "execute", "delete", "payment", "privilege_grant")) {
            for (String system : List.of("kb", "vault", "crm")) {
                Api.Answer answer = decide("gw-1", tenant, request(tenant, "kb-reader", "kb.search", action, system, "secrets/db", "public"));
                assertThat(answer.text("outcome")).as("%s on %s", action, system).isEqualTo("DENY");
                // The first five are tool_action_mismatch; that DENY burst quarantines kb-reader (DENY quarantined).
                assertThat(answer.json().path("reasons").toString()).containsAnyOf("tool_action_mismatch", "quarantined");
                assertThat(answer.json().has("credential")).isFalse();
            }
        }
        // Naming a tool it does not have (registered or not) does not help either (and quarantines it).
        for (String tool : List.of("vault.secret.read", "kb.write")) {
            Api.Answer answer = decide("gw-1", tenant, request(tenant, "kb-reader", tool, "secret_read", "vault", "secrets/db", "public"));
            assertThat(answer.text("outcome")).isEqualTo("DENY");
        }
        assertThat(jdbc.sql("""
                select count(*) from issued_credential
                where tenant_id = ? and ('agent-secret-read' = any (policies) or 'agent-write' = any (policies))""")
                .param(tenant).query(Long.class).single()).isZero();
    }

    // ---------------------------------------------------------------- item 5: the chain is derived

    @Test
    void aLegitimateChainOfThreeWorksAndItsDepthIsRecorded() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        Map<String, Object> body = lowRiskRead(tenant);
        String root = decide("gw-1", tenant, body).text("decision_id");
        Api.Answer child = decide("gw-1", tenant, childOf(body, root));
        // The claim, when sent, must be the derived depth.
        Map<String, Object> grandchildBody = childOf(body, child.text("decision_id"));
        @SuppressWarnings("unchecked")
        Map<String, Object> task = (Map<String, Object>) grandchildBody.get("task");
        task.put("chain_depth", 2);
        Api.Answer grandchild = decide("gw-1", tenant, grandchildBody);
        assertThat(List.of(child.text("outcome"), grandchild.text("outcome"))).containsOnly("ALLOW");
        assertThat(recorded(root).chainDepth()).isZero();
        assertThat(recorded(child.text("decision_id")).chainDepth()).isEqualTo(1);
        assertThat(recorded(grandchild.text("decision_id")).chainDepth()).isEqualTo(2);
    }

    @Test
    void aLyingChainDepthIsDeniedAsChainMismatch() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        Map<String, Object> body = lowRiskRead(tenant);
        String parent = decideChain(TestJwts.token("gw-1", tenant, "decide"), body, 2);
        Map<String, Object> lying = childOf(body, parent);
        @SuppressWarnings("unchecked")
        Map<String, Object> task = (Map<String, Object>) lying.get("task");
        task.put("chain_depth", 0);
        Api.Answer answer = decide("gw-1", tenant, lying);
        assertThat(answer.text("outcome")).isEqualTo("DENY");
        assertThat(answer.json().path("reasons").toString()).isEqualTo("[\"chain_mismatch\"]");
        assertThat(recorded(answer.text("decision_id")).chainDepth()).as("the derived depth is recorded").isEqualTo(3);

        // Without a parent the depth is 0, whatever the caller says.
        Map<String, Object> root = lowRiskRead(tenant);
        root.put("task", Map.of("id", "task-1", "intent", "help", "chain_depth", 3));
        assertThat(decide("gw-1", tenant, root).json().path("reasons").toString()).isEqualTo("[\"chain_mismatch\"]");
    }

    @Test
    void anotherTenantsOrAnUnrelatedParentIsUnknown() {
        String tenant = newTenant();
        String other = newTenant();
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        registerAgent(tenant, "agent-8", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        registerAgent(other, "agent-7", "bob", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        String theirs = decide("gw-1", other, lowRiskRead(other)).text("decision_id");
        Map<String, Object> unrelatedBody = request(tenant, "agent-8", "crm.contacts.read", "read", "crm", "contacts/1", "public");
        unrelatedBody.put("task", Map.of("id", "task-other", "intent", "help", "chain_depth", 0));
        String unrelated = decide("gw-1", tenant, unrelatedBody).text("decision_id");
        String refused = decide(ROGUE, tenant, lowRiskRead(tenant)).text("decision_id");

        for (String parent : List.of(theirs, unrelated, refused, java.util.UUID.randomUUID().toString())) {
            Api.Answer answer = decide("gw-1", tenant, childOf(lowRiskRead(tenant), parent));
            assertThat(answer.text("outcome")).isEqualTo("DENY");
            assertThat(answer.json().path("reasons").toString()).isEqualTo("[\"parent_unknown\"]");
        }

        // The same task's decision for another agent is its lineage (a hand-over within the task).
        Map<String, Object> sameTask = request(tenant, "agent-8", "crm.contacts.read", "read", "crm", "contacts/1", "public");
        String handOver = decide("gw-1", tenant, sameTask).text("decision_id");
        Api.Answer child = decide("gw-1", tenant, childOf(lowRiskRead(tenant), handOver));
        assertThat(child.text("outcome")).isEqualTo("ALLOW");
        assertThat(recorded(child.text("decision_id")).chainDepth()).isEqualTo(1);
    }
}
