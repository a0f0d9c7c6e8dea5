package io.agentpdp.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import tools.jackson.databind.JsonNode;

/**
 * GET /v1/registry/enforcement-points/self on the real database: an enforcement point reads its own agents and
 * their tools' registry facts with its decide token, and nothing about another enforcement point, another agent
 * or another tenant.
 */
class SelfManifestTest extends IntegrationTest {

    private static final String SELF = "/v1/registry/enforcement-points/self";
    private String tenant;

    @BeforeEach
    void registry() {
        tenant = newTenant();
        seed(tenant);
    }

    /** gw-1 is bound to agent-7 by id and to agent-9 by label; gw-2 to agent-8; agent-6 to nobody. */
    private void seed(String tenant) {
        String admin = TestJwts.token("ops-1", tenant, "registry-admin");
        Map<String, Object> read = RegistryApiTest.tool("crm.contacts.read", "crm", List.of("read"));
        create(admin, "tools", read);
        create(admin, "tools", RegistryApiTest.tool("crm.contacts.delete", "crm", List.of("delete")));
        create(admin, "tools", RegistryApiTest.tool("payments.transfer", "bank", List.of("payment")));
        create(admin, "agents", agent("agent-7", List.of("crm.contacts.read", "crm.contacts.delete", "crm.notes.read"),
                Map.of("team", "support")));
        create(admin, "agents", agent("agent-8", List.of("payments.transfer"), Map.of("team", "finance")));
        create(admin, "agents", agent("agent-9", List.of("crm.contacts.read"), Map.of("team", "support", "tier", "gold")));
        create(admin, "agents", agent("agent-6", List.of("payments.transfer"), Map.of("team", "support")));
        create(admin, "enforcement-points", Map.of("principal", "gw-1", "agent_ids", List.of("agent-7"),
                "agent_selectors", List.of(Map.of("tier", "gold"))));
        create(admin, "enforcement-points", Map.of("principal", "gw-2", "agent_ids", List.of("agent-8")));
    }

    private static Map<String, Object> agent(String id, List<String> tools, Map<String, String> labels) {
        Map<String, Object> agent = RegistryApiTest.agent(id, tools);
        agent.put("labels", labels);
        return agent;
    }

    private void create(String admin, String collection, Object body) {
        Api.Answer created = api().post("/v1/registry/" + collection, admin, body);
        assertThat(created.status()).as(created.body()).isEqualTo(201);
    }

    private static List<String> agentIds(Api.Answer answer) {
        List<String> ids = new ArrayList<>();
        answer.json().path("agents").forEach(a -> ids.add(a.path("id").asString()));
        return ids;
    }

    @Test
    void anEnforcementPointReadsItsOwnAgentsAndTheirToolFacts() {
        Api.Answer answer = api().get(SELF, TestJwts.token("gw-1", tenant, "decide"));

        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        assertThat(answer.json().path("enforcement_point").path("principal").asString()).isEqualTo("gw-1");
        assertThat(agentIds(answer)).containsExactly("agent-7", "agent-9");
        JsonNode agent7 = answer.json().path("agents").get(0);
        assertThat(agent7.path("enabled").asBoolean()).isTrue();
        List<String> tools = new ArrayList<>();
        agent7.path("tools").forEach(t -> tools.add(t.path("name").asString()));
        assertThat(tools).containsExactly("crm.contacts.read", "crm.contacts.delete");
        assertThat(agent7.path("unregistered_tools").get(0).asString()).isEqualTo("crm.notes.read");
        JsonNode read = agent7.path("tools").get(0);
        assertThat(read.path("target_system").asString()).isEqualTo("crm");
        assertThat(read.path("action_kinds").get(0).asString()).isEqualTo("read");
        assertThat(read.path("risk_tier").asString()).isEqualTo("low");
        assertThat(read.path("read_only").asBoolean()).isTrue();
        assertThat(read.path("argument_schema").path("properties").has("id")).isTrue();
        assertThat(read.path("version").asLong()).isEqualTo(1);
        // Nothing of the registry's internals beyond the facts an enforcement point needs.
        assertThat(read.has("credential_profile")).isFalse();
        assertThat(agent7.has("owner")).isFalse();
        assertThat(answer.body()).doesNotContain("agent-8", "agent-6", "payments.transfer", "gw-2");
    }

    @Test
    void anotherEnforcementPointsAgentsAndAnUnboundAgentAreInvisible() {
        String gw1 = TestJwts.token("gw-1", tenant, "decide");
        Api.Answer theirs = api().get(SELF + "?agent=agent-8", gw1);
        Api.Answer nobodys = api().get(SELF + "?agent=agent-6", gw1);
        Api.Answer mine = api().get(SELF + "?agent=agent-9", gw1);
        Api.Answer gw2 = api().get(SELF, TestJwts.token("gw-2", tenant, "decide"));

        assertThat(theirs.status()).isEqualTo(200);
        assertThat(agentIds(theirs)).isEmpty();
        assertThat(agentIds(nobodys)).isEmpty();
        assertThat(agentIds(mine)).containsExactly("agent-9");
        assertThat(agentIds(gw2)).containsExactly("agent-8");
        assertThat(gw2.body()).doesNotContain("agent-7", "agent-9", "crm.contacts");
    }

    @Test
    void anotherTenantsEnforcementPointOfTheSameNameSeesOnlyItsOwnTenant() {
        String other = newTenant();
        Api.Answer unregistered = api().get(SELF, TestJwts.token("gw-1", other, "decide"));
        assertThat(unregistered.status()).isEqualTo(404);
        assertThat(unregistered.body()).doesNotContain("agent-7");

        String admin = TestJwts.token("ops-1", other, "registry-admin");
        create(admin, "agents", agent("agent-5", List.of("crm.contacts.read"), Map.of()));
        create(admin, "enforcement-points", Map.of("principal", "gw-1", "agent_ids", List.of("agent-5", "agent-7")));
        Api.Answer registered = api().get(SELF, TestJwts.token("gw-1", other, "decide"));
        // agent-7 is named but is no agent of this tenant: invisible, as are the first tenant's tools.
        assertThat(agentIds(registered)).containsExactly("agent-5");
        assertThat(registered.json().path("agents").get(0).path("tools").size()).isZero();
        assertThat(registered.json().path("agents").get(0).path("unregistered_tools").get(0).asString())
                .isEqualTo("crm.contacts.read");
    }

    @Test
    void onlyTheDecideScopeReadsItAndPagingAndParametersAreChecked() {
        assertThat(api().get(SELF, TestJwts.token("gw-1", tenant, "approver")).status()).isEqualTo(403);
        assertThat(api().get(SELF, TestJwts.token("gw-1", tenant, "registry-admin")).status()).isEqualTo(403);
        assertThat(api().get(SELF, TestJwts.token("gw-3", tenant, "decide")).status()).isEqualTo(404);
        String gw1 = TestJwts.token("gw-1", tenant, "decide");
        assertThat(api().get(SELF + "?bogus=1", gw1).status()).isEqualTo(400);
        assertThat(api().get(SELF + "?agent=a/b", gw1).status()).isEqualTo(400);
        assertThat(api().get(SELF + "?limit=0", gw1).status()).isEqualTo(400);
        assertThat(api().get(SELF + "?%C2%AE%7C=1", gw1).status()).isEqualTo(400);
        // (PUT and DELETE on /self are 405, not the entry's replace or delete: checked by scripts/fuzz.sh, ST204.)

        Api.Answer first = api().get(SELF + "?limit=1", gw1);
        assertThat(agentIds(first)).containsExactly("agent-7");
        assertThat(first.text("next_after")).isEqualTo("agent-7");
        Api.Answer second = api().get(SELF + "?limit=1&after=agent-7", gw1);
        assertThat(agentIds(second)).containsExactly("agent-9");
        assertThat(second.json().path("next_after").isNull()).isTrue();
    }

    @Test
    void aDisabledEnforcementPointReadsNothing() {
        String admin = TestJwts.token("ops-1", tenant, "registry-admin");
        Map<String, Object> disabled = new LinkedHashMap<>(Map.of("principal", "gw-4", "agent_ids", List.of("agent-7"),
                "enabled", false));
        create(admin, "enforcement-points", disabled);
        assertThat(api().get(SELF, TestJwts.token("gw-4", tenant, "decide")).status()).isEqualTo(404);
    }
}
