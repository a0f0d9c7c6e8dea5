package io.agentpdp.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TenantLayout;
import io.agentpdp.support.TestJwts;

/** The registry API: CRUD with ETags, scopes, tenant isolation, bad input, and the decision using what it registers. */
class RegistryApiTest extends IntegrationTest {

    private String tenant;
    private String admin;

    @BeforeEach
    void tenant() {
        tenant = newTenant();
        admin = TestJwts.token("ops-1", tenant, "registry-admin");
    }

    static Map<String, Object> agent(String id, List<String> tools) {
        Map<String, Object> agent = new LinkedHashMap<>();
        agent.put("id", id);
        agent.put("display_name", "Support agent");
        agent.put("owner", Map.of("issuer", "https://idp.example", "subject", "alice"));
        agent.put("spiffe_ids", List.of("spiffe://example.org/agents/" + id));
        agent.put("allowed_tools", tools);
        agent.put("home_systems", List.of("crm"));
        agent.put("max_chain_depth", 3);
        agent.put("labels", Map.of("risk-tier", "low"));
        return agent;
    }

    static Map<String, Object> tool(String name, String system, List<String> actions) {
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("name", name);
        tool.put("target_system", system);
        tool.put("action_kinds", actions);
        tool.put("risk_tier", "low");
        tool.put("read_only", actions.equals(List.of("read")));
        tool.put("credential_profile", "crm-reader");
        tool.put("argument_schema", Map.of("type", "object", "properties", Map.of("id", Map.of("type", "string"))));
        return tool;
    }

    private Api.Exchange call(String method, String path, String token, Map<String, String> headers, Object body) {
        return api().exchange(method, path, token, headers, body);
    }

    private Api.Exchange create(String collection, Object body) {
        Api.Exchange created = call("POST", "/v1/registry/" + collection, admin, Map.of(), body);
        assertThat(created.answer().status()).as(created.answer().body()).isEqualTo(201);
        return created;
    }

    @Test
    void anAgentIsCreatedReadReplacedWithItsETagAndDeleted() {
        Api.Exchange created = create("agents", agent("agent-1", List.of("crm.contacts.read")));
        assertThat(created.header("ETag")).isEqualTo("\"1\"");
        assertThat(created.answer().json().path("version").asLong()).isEqualTo(1);
        assertThat(created.answer().json().path("updated_by").asString()).isEqualTo("ops-1");
        assertThat(created.answer().json().path("enabled").asBoolean()).isTrue();

        Api.Exchange read = call("GET", "/v1/registry/agents/agent-1", TestJwts.token("sec", tenant, "security-admin"), Map.of(), null);
        assertThat(read.answer().status()).isEqualTo(200);
        assertThat(read.header("ETag")).isEqualTo("\"1\"");
        assertThat(read.answer().json().path("owner").path("subject").asString()).isEqualTo("alice");
        assertThat(read.answer().json().path("labels").path("risk-tier").asString()).isEqualTo("low");

        Map<String, Object> changed = agent("agent-1", List.of("crm.contacts.read", "crm.contacts.update"));
        Api.Exchange replaced = call("PUT", "/v1/registry/agents/agent-1", admin, Map.of("If-Match", "\"1\""), changed);
        assertThat(replaced.answer().status()).isEqualTo(200);
        assertThat(replaced.header("ETag")).isEqualTo("\"2\"");

        Api.Exchange stale = call("PUT", "/v1/registry/agents/agent-1", admin, Map.of("If-Match", "\"1\""), changed);
        assertThat(stale.answer().status()).isEqualTo(412);
        assertThat(stale.answer().contentType()).startsWith("application/problem+json");

        Api.Exchange unconditional = call("PUT", "/v1/registry/agents/agent-1", admin, Map.of(), changed);
        assertThat(unconditional.answer().status()).isEqualTo(428);

        Api.Exchange same = call("PUT", "/v1/registry/agents/agent-1", admin, Map.of("If-Match", "\"2\""), changed);
        assertThat(same.header("ETag")).as("an identical replace is no change").isEqualTo("\"2\"");

        assertThat(call("DELETE", "/v1/registry/agents/agent-1", admin, Map.of("If-Match", "\"1\""), null).answer().status()).isEqualTo(412);
        assertThat(call("DELETE", "/v1/registry/agents/agent-1", admin, Map.of(), null).answer().status()).isEqualTo(428);
        assertThat(call("DELETE", "/v1/registry/agents/agent-1", admin, Map.of("If-Match", "\"2\""), null).answer().status()).isEqualTo(204);
        assertThat(call("GET", "/v1/registry/agents/agent-1", admin, Map.of(), null).answer().status()).isEqualTo(404);
    }

    @Test
    void registeringAnAgentTwiceIsAConflict() {
        create("agents", agent("agent-1", List.of()));
        assertThat(call("POST", "/v1/registry/agents", admin, Map.of(), agent("agent-1", List.of())).answer().status()).isEqualTo(409);
    }

    @Test
    void listsArePagedAndFiltered() {
        for (int i = 1; i <= 5; i++) {
            Map<String, Object> agent = agent("agent-" + i, List.of("crm.contacts.read"));
            agent.put("enabled", i % 2 == 1);
            create("agents", agent);
        }
        Api.Answer first = call("GET", "/v1/registry/agents?limit=2", admin, Map.of(), null).answer();
        assertThat(first.json().path("items").size()).isEqualTo(2);
        assertThat(first.json().path("next_after").asString()).isEqualTo("agent-2");
        Api.Answer last = call("GET", "/v1/registry/agents?limit=2&after=agent-4", admin, Map.of(), null).answer();
        assertThat(last.json().path("items").size()).isEqualTo(1);
        assertThat(last.json().path("next_after").isNull()).isTrue();

        Api.Answer disabled = call("GET", "/v1/registry/agents?enabled=false", admin, Map.of(), null).answer();
        assertThat(disabled.json().path("items").size()).isEqualTo(2);
        Api.Answer labelled = call("GET", "/v1/registry/agents?label=risk-tier%3Dlow&limit=10", admin, Map.of(), null).answer();
        assertThat(labelled.json().path("items").size()).isEqualTo(5);

        assertThat(call("GET", "/v1/registry/agents?colour=red", admin, Map.of(), null).answer().status()).isEqualTo(400);
        assertThat(call("GET", "/v1/registry/agents?limit=0", admin, Map.of(), null).answer().status()).isEqualTo(400);
        assertThat(call("GET", "/v1/registry/agents?enabled=yes", admin, Map.of(), null).answer().status()).isEqualTo(400);
    }

    @Test
    void everyKindHasTheSameLifecycle() {
        Map<String, Map<String, Object>> bodies = new LinkedHashMap<>();
        bodies.put("tools", tool("crm.contacts.read", "crm", List.of("read")));
        bodies.put("systems", new LinkedHashMap<>(Map.of("name", "crm", "case_sensitive", true)));
        bodies.put("enforcement-points", new LinkedHashMap<>(Map.of("principal", "gw-1", "agent_ids", List.of("agent-7"),
                "agent_selectors", List.of(Map.of("risk-tier", "low")))));
        bodies.put("classifications", new LinkedHashMap<>(Map.of("system", "crm", "resource_prefix", "contacts/vip", "level", "confidential")));
        bodies.put("credential-profiles", crmReader());
        for (Map.Entry<String, Map<String, Object>> kind : bodies.entrySet()) {
            Api.Answer created = create(kind.getKey(), kind.getValue()).answer();
            String id = created.json().has("id") ? created.json().path("id").asString()
                    : created.json().has("name") ? created.json().path("name").asString() : null;
            String path = "/v1/registry/" + kind.getKey() + "/" + id;
            assertThat(call("GET", path, admin, Map.of(), null).answer().status()).as(path).isEqualTo(200);
            assertThat(call("GET", "/v1/registry/" + kind.getKey(), admin, Map.of(), null).answer().json().path("items").size()).isEqualTo(1);
            assertThat(call("PUT", path, admin, Map.of("If-Match", "\"7\""), kind.getValue()).answer().status()).isEqualTo(412);
            assertThat(call("DELETE", path, admin, Map.of("If-Match", "*"), null).answer().status()).isEqualTo(204);
            assertThat(call("GET", path, admin, Map.of(), null).answer().status()).isEqualTo(404);
        }
    }

    @Test
    void anotherTenantsEntriesAreNotFoundOnEveryEndpoint() {
        create("agents", agent("agent-1", List.of()));
        create("tools", tool("crm.contacts.read", "crm", List.of("read")));
        create("systems", Map.of("name", "crm", "case_sensitive", true));
        String ep = create("enforcement-points", Map.of("principal", "gw-1")).answer().text("id");
        String rule = create("classifications", Map.of("system", "crm", "resource_prefix", "contacts", "level", "internal")).answer().text("id");

        String other = newTenant();
        String otherAdmin = TestJwts.token("ops-2", other, "registry-admin security-admin");
        Map<String, Object> bodies = Map.of(
                "agents/agent-1", agent("agent-1", List.of()),
                "tools/crm.contacts.read", tool("crm.contacts.read", "crm", List.of("read")),
                "systems/crm", Map.of("name", "crm", "case_sensitive", true),
                "enforcement-points/" + ep, Map.of("principal", "gw-1"),
                "classifications/" + rule, Map.of("system", "crm", "resource_prefix", "contacts", "level", "public"));
        bodies.forEach((path, body) -> {
            String url = "/v1/registry/" + path;
            assertThat(call("GET", url, otherAdmin, Map.of(), null).answer().status()).as("GET " + url).isEqualTo(404);
            assertThat(call("PUT", url, otherAdmin, Map.of("If-Match", "*"), body).answer().status()).as("PUT " + url).isEqualTo(404);
            assertThat(call("DELETE", url, otherAdmin, Map.of("If-Match", "*"), null).answer().status()).as("DELETE " + url).isEqualTo(404);
            String collection = "/v1/registry/" + path.substring(0, path.indexOf('/'));
            assertThat(call("GET", collection, otherAdmin, Map.of(), null).answer().json().path("items").size()).as(collection).isZero();
        });
        assertThat(call("GET", "/v1/registry/changes", otherAdmin, Map.of(), null).answer().json().path("items").size()).isZero();
        // Still there for their own tenant.
        assertThat(call("GET", "/v1/registry/agents/agent-1", admin, Map.of(), null).answer().status()).isEqualTo(200);
    }

    @Test
    void scopesGateReadsAndWrites() {
        String reader = TestJwts.token("sec", tenant, "security-admin");
        String enforcement = TestJwts.token("gw", tenant, "decide");
        assertThat(call("GET", "/v1/registry/agents", reader, Map.of(), null).answer().status()).isEqualTo(200);
        assertThat(call("POST", "/v1/registry/agents", reader, Map.of(), agent("agent-1", List.of())).answer().status()).isEqualTo(403);
        assertThat(call("GET", "/v1/registry/agents", enforcement, Map.of(), null).answer().status()).isEqualTo(403);
        assertThat(call("GET", "/v1/registry/agents", null, Map.of(), null).answer().status()).isEqualTo(401);
    }

    @Test
    void badEntriesAreRefusedWithAProblem() {
        List<Map<String, Object>> agents = List.of(
                agent("team/agent-1", List.of()),
                agent("", List.of()),
                agent("agent\u200B1", List.of()),
                with(agent("agent-1", List.of()), "allowed_tools", List.of("crm contacts")),
                with(agent("agent-1", List.of()), "home_systems", List.of("\uFF43rm")),
                with(agent("agent-1", List.of()), "spiffe_ids", List.of("https://example.org/a")),
                with(agent("agent-1", List.of()), "max_chain_depth", -1),
                with(agent("agent-1", List.of()), "owner", Map.of("subject", "alice")),
                with(agent("agent-1", List.of()), "role", "root"));
        for (Map<String, Object> body : agents) {
            Api.Answer answer = call("POST", "/v1/registry/agents", admin, Map.of(), body).answer();
            assertThat(answer.status()).as(body.toString()).isEqualTo(400);
            assertThat(answer.contentType()).startsWith("application/problem+json");
        }
        List<Map<String, Object>> rules = List.of(
                Map.of("system", "crm", "resource_prefix", "contacts//vip", "level", "internal"),
                Map.of("system", "crm", "resource_prefix", "/contacts", "level", "internal"),
                Map.of("system", "crm", "resource_prefix", "contacts/%76ip", "level", "internal"),
                Map.of("system", "crm", "resource_prefix", "contacts", "level", "secret"),
                Map.of("system", "c/rm", "resource_prefix", "contacts", "level", "internal"));
        for (Map<String, Object> body : rules) {
            assertThat(call("POST", "/v1/registry/classifications", admin, Map.of(), body).answer().status()).as(body.toString()).isEqualTo(400);
        }
        assertThat(call("POST", "/v1/registry/systems", admin, Map.of(), Map.of("name", "CRM", "case_sensitive", false))
                .answer().status()).as("a case-insensitive system is named folded").isEqualTo(400);
        assertThat(call("POST", "/v1/registry/tools", admin, Map.of(), with(tool("t", "crm", List.of("read")), "action_kinds", List.of()))
                .answer().status()).isEqualTo(400);
        assertThat(call("POST", "/v1/registry/tools", admin, Map.of(), with(tool("t", "crm", List.of("read")), "argument_schema", List.of()))
                .answer().status()).isEqualTo(400);
        assertThat(call("PUT", "/v1/registry/agents/agent-2", admin, Map.of("If-Match", "*"), agent("agent-3", List.of()))
                .answer().status()).as("the path names the entry").isEqualTo(400);
        assertThat(call("POST", "/v1/registry/agents", admin, Map.of(), "[1,2]").answer().status()).isEqualTo(400);
    }

    /** Found by fuzzing the registry (scripts/fuzz.sh). */
    @Test
    void fuzzFindingsStayFixed() {
        assertThat(call("POST", "/v1/registry/classifications", admin, Map.of(),
                "{\"system\": \"crm\", \"resource_prefix\": \"contacts\", \"level\": 0}").answer().status())
                .as("an enum is its name, never its ordinal").isEqualTo(400);
        Api.Answer nulls = call("POST", "/v1/registry/enforcement-points", admin, Map.of(),
                "{\"principal\": \"gw-9\", \"agent_ids\": null, \"enabled\": null}").answer();
        assertThat(nulls.status()).as("null optional fields take their defaults").isEqualTo(201);
        assertThat(nulls.json().path("enabled").asBoolean()).isTrue();
        assertThat(call("GET", "/v1/registry/agents?%C2%B6%0A=1", admin, Map.of(), null).answer().status())
                .as("a parameter name the firewall refuses is bad input, not a 500").isEqualTo(400);
        // (An unsupported method with an empty query parameter is 405, not 400: checked by scripts/fuzz.sh, ST204.)
        assertThat(call("GET", "/v1/registry/agents/a%25b", admin, Map.of(), null).answer().status())
                .as("a path the firewall refuses is a documented 400").isEqualTo(400);
    }

    private static Map<String, Object> with(Map<String, Object> body, String field, Object value) {
        Map<String, Object> changed = new LinkedHashMap<>(body);
        if (value == null) {
            changed.remove(field);
        } else {
            changed.put(field, value);
        }
        return changed;
    }

    /** The profile {@link #tool} names: a token with the tenant's crm-read policy, 300 s, 10 uses. */
    static Map<String, Object> crmReader() {
        Map<String, Object> profile = new LinkedHashMap<>();
        profile.put("name", "crm-reader");
        profile.put("kind", "token");
        profile.put("policies", List.of("crm-read"));
        profile.put("max_ttl_seconds", 300);
        profile.put("max_uses", 10);
        return profile;
    }

    @Test
    void credentialProfilesAreValidatedVersionedAndLogged() {
        Api.Answer created = create("credential-profiles", crmReader()).answer();
        // Defaults are filled in, so that a re-apply of the same file is a no-op.
        assertThat(created.json().path("wrapped").asBoolean()).isTrue();
        assertThat(created.json().path("per_agent").asBoolean()).isFalse();
        Map<String, Object> database = new LinkedHashMap<>(Map.of("name", "db-reader", "kind", "dynamic", "role", "crm-read",
                "max_ttl_seconds", 120));
        assertThat(create("credential-profiles", database).answer().json().path("mount").asString()).isEqualTo("database");
        assertThat(call("GET", "/v1/registry/credential-profiles?kind=dynamic", admin, Map.of(), null).answer().json()
                .path("items").size()).isEqualTo(1);
        // A filter value outside the enum is bad input, not an empty page (found by scripts/fuzz.sh).
        assertThat(call("GET", "/v1/registry/credential-profiles?kind=AAA", admin, Map.of(), null).answer().status())
                .isEqualTo(400);
        // Each kind's own fields, Vault names without a tenant prefix (no '.', '/', upper case), caps in range.
        for (Map<String, Object> bad : List.<Map<String, Object>>of(
                Map.of("name", "a", "kind", "token", "max_ttl_seconds", 60, "max_uses", 1),
                Map.of("name", "b", "kind", "token", "policies", List.of("crm-read"), "max_ttl_seconds", 60),
                Map.of("name", "c", "kind", "token", "policies", List.of("tenant.other.crm-read"), "max_ttl_seconds", 60, "max_uses", 1),
                Map.of("name", "d", "kind", "dynamic", "max_ttl_seconds", 60),
                Map.of("name", "e", "kind", "dynamic", "role", "r", "max_ttl_seconds", 60, "max_uses", 3),
                Map.of("name", "f", "kind", "dynamic", "role", "r", "max_ttl_seconds", 60, "wrapped", false),
                Map.of("name", "g", "kind", "dynamic", "role", "../r", "max_ttl_seconds", 60),
                Map.of("name", "h", "kind", "token", "policies", List.of("crm-read"), "max_ttl_seconds", 0, "max_uses", 1),
                Map.of("name", "i", "kind", "secret", "max_ttl_seconds", 60))) {
            assertThat(call("POST", "/v1/registry/credential-profiles", admin, Map.of(), bad).answer().status())
                    .as(bad.toString()).isEqualTo(400);
        }
        assertThat(api().get("/v1/registry/changes", admin).json().path("items").toString())
                .contains("\"kind\":\"credential_profile\"").contains("\"entry_id\":\"crm-reader\"");
    }

    @Test
    void theDecisionUsesWhatTheRegistryHolds() {
        TenantLayout.onboard(tenant);
        create("credential-profiles", crmReader());
        create("tools", tool("crm.contacts.read", "crm", List.of("read")));
        create("tools", tool("crm.contacts.update", "crm", List.of("write")));
        Map<String, Object> agent7 = agent("agent-7", List.of("crm.contacts.read", "crm.contacts.update", "crm.contacts.export"));
        // Bound to the SPIFFE ID whose real SVID request() presents: the registry's spiffe_ids are what the PDP checks.
        agent7.put("spiffe_ids", List.of(io.agentpdp.support.TestSvids.WORKLOAD_A));
        create("agents", agent7);
        create("classifications", Map.of("system", "crm", "resource_prefix", "contacts/vip", "level", "confidential"));
        create("enforcement-points", Map.of("principal", "gw-1", "agent_ids", List.of("agent-7")));
        String decide = TestJwts.token("gw-1", tenant, "decide");

        Api.Answer read = api().post("/v1/decisions", decide, request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(read.text("outcome")).isEqualTo("ALLOW");
        Api.Answer vip = api().post("/v1/decisions", decide, request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/vip", "internal"));
        assertThat(vip.text("outcome")).isEqualTo("CONSTRAIN");

        Api.Answer unknownTool = api().post("/v1/decisions", decide, request(tenant, "agent-7", "crm.contacts.export", "read", "crm", "contacts/1", "public"));
        assertThat(unknownTool.text("outcome")).isEqualTo("DENY");
        assertThat(unknownTool.json().path("reasons").toString()).contains("unknown_tool");

        Api.Answer wrongAction = api().post("/v1/decisions", decide, request(tenant, "agent-7", "crm.contacts.read", "delete", "crm", "contacts/1", "public"));
        assertThat(wrongAction.json().path("reasons").toString()).contains("tool_action_mismatch", "action_not_allowed_for_tool");

        Api.Answer wrongSystem = api().post("/v1/decisions", decide, request(tenant, "agent-7", "crm.contacts.read", "read", "hr", "payroll/1", "public"));
        assertThat(wrongSystem.text("outcome")).isEqualTo("DENY");
        assertThat(wrongSystem.json().path("reasons").toString()).contains("tool_action_mismatch", "tool_target_mismatch");

        Map<String, Object> read1 = request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public");
        Map<String, Object> deep = childOf(read1, decideChain(decide, read1, 3));
        assertThat(api().post("/v1/decisions", decide, deep).json().path("reasons").toString())
                .as("max_chain_depth 3 from the registry").contains("chain_depth_exceeded");

        Map<String, Object> disabled = agent("agent-7", List.of("crm.contacts.read"));
        disabled.put("enabled", false);
        String etag = call("GET", "/v1/registry/agents/agent-7", admin, Map.of(), null).header("ETag");
        assertThat(call("PUT", "/v1/registry/agents/agent-7", admin, Map.of("If-Match", etag), disabled).answer().status()).isEqualTo(200);
        Api.Answer off = api().post("/v1/decisions", decide, request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(off.text("outcome")).isEqualTo("DENY");
        assertThat(off.json().path("reasons").toString()).contains("agent_disabled");
    }

    @Test
    void anotherTenantsClassificationRulesHaveNoEffectAndAreNotRevealed() {
        String other = newTenant();
        registerAgent(other, "agent-7", "bob", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        classify(other, "crm", "contacts", "restricted");
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});

        String decide = TestJwts.token("gw-1", tenant, "decide");
        Api.Answer answer = api().post("/v1/decisions", decide, request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(answer.text("outcome")).isEqualTo("ALLOW");
        assertThat(answer.json().path("reasons").toString()).isEqualTo("[\"low_risk_read\"]");
        Api.Answer stored = api().get("/v1/decisions/" + answer.text("decision_id"), decide);
        assertThat(stored.json().path("classification").path("stored").isNull()).isTrue();

        // And the other tenant still gets its own rule.
        Api.Answer theirs = api().post("/v1/decisions", TestJwts.token("gw-2", other, "decide"),
                request(other, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "confidential"));
        assertThat(theirs.text("outcome")).isEqualTo("STEP_UP");
    }

    @Test
    void agentIdsWithASlashAreRefusedOnDecideAndAnyRegisteredAgentCanBeQuarantined() {
        Api.Answer slash = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "team/agent-1", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(slash.status()).isEqualTo(400);
        assertThat(slash.text("decision")).isEqualTo("DENY");

        create("agents", agent("ns:agent.v2-1", List.of()));
        Api.Answer quarantined = api().post("/v1/agents/ns:agent.v2-1/quarantine", TestJwts.token("sec", tenant, "security-admin"),
                Map.of("reason", "test"));
        assertThat(quarantined.status()).isEqualTo(200);
    }
}
