package io.agentpdp.support;

import java.util.Map;
import java.util.UUID;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.agentpdp.AgentPdpApplication;
import io.agentpdp.registry.Registry;

/**
 * Base of the integration tests: the whole PDP on a random port, wired to the real OPA, Vault and
 * PostgreSQL of {@link TestStack}, trusting the keys of {@link TestJwts}. Each test works in its own
 * tenant so that tests never see each other's data.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
public abstract class IntegrationTest {

    protected static final TestStack.Endpoints STACK = TestStack.get();

    @LocalServerPort
    protected int port;

    @Autowired
    protected JdbcClient jdbc;

    @DynamicPropertySource
    static void stackProperties(DynamicPropertyRegistry registry) {
        registerStack(registry, STACK.opaUrl(), STACK.vaultUrl(), STACK.postgresUrl());
    }

    /** Wires the PDP to the stack; fault tests pass the URLs of proxies in front of it instead. */
    public static void registerStack(DynamicPropertyRegistry registry, String opaUrl, String vaultUrl, String jdbcUrl) {
        stackProperties(opaUrl, vaultUrl, jdbcUrl).forEach((name, value) -> registry.add(name, () -> value));
    }

    /** The PDP's configuration for the test stack, as property name to value. */
    public static Map<String, String> stackProperties(String opaUrl, String vaultUrl, String jdbcUrl) {
        Map<String, String> properties = new java.util.LinkedHashMap<>();
        properties.put("spring.datasource.url", jdbcUrl);
        properties.put("spring.datasource.username", STACK.appUser());
        properties.put("spring.datasource.password", STACK.appPassword());
        properties.put("spring.flyway.user", STACK.ownerUser());
        properties.put("spring.flyway.password", STACK.ownerPassword());
        properties.put("spring.flyway.placeholders.app_role", STACK.appUser());
        properties.put("pdp.opa.url", opaUrl);
        // Generous deadlines: a loaded 2-core CI machine must not turn expected outcomes into (correct) fail-closed DENYs.
        properties.put("pdp.opa.timeout", "2s");
        properties.put("pdp.vault.timeout", "5s");
        properties.put("pdp.vault.url", vaultUrl);
        properties.put("pdp.vault.token", STACK.vaultPdpToken());
        properties.put("pdp.vault.token-role", STACK.vaultTokenRole());
        properties.put("spring.security.oauth2.resourceserver.jwt.public-key-location", TestJwts.publicKeyLocation());
        properties.put("spring.security.oauth2.resourceserver.jwt.audiences", TestJwts.AUDIENCE);
        properties.put("pdp.security.issuer", TestJwts.ISSUER);
        // The test identity provider treats user names case-insensitively: Alice is alice (docs/approvals.md).
        properties.put("pdp.security.case-insensitive-issuers", TestJwts.ISSUER);
        properties.put("management.server.port", "0");
        // Agents' JWT-SVIDs are verified against the stack's SPIRE (its Workload API streams the trust bundle).
        properties.putAll(TestSvids.pdpProperties());
        // Spring caches many test contexts (and tests start extra replicas): keep few idle connections per pool
        // so that they do not exhaust the test database's connection slots.
        properties.put("spring.datasource.hikari.minimum-idle", "2");
        properties.put("spring.datasource.hikari.idle-timeout", "10000");
        return properties;
    }

    /** One more PDP replica on the same stack and database, as a second pod would be; close it after use. */
    protected static ConfigurableApplicationContext replica(ApplicationContextInitializer<?>... initializers) {
        // As command-line arguments: they outrank application.yaml (default properties would not).
        java.util.List<String> arguments = new java.util.ArrayList<>();
        stackProperties(STACK.opaUrl(), STACK.vaultUrl(), STACK.postgresUrl()).forEach((k, v) -> arguments.add("--" + k + "=" + v));
        arguments.add("--server.port=0");
        return new SpringApplicationBuilder(AgentPdpApplication.class).initializers(initializers)
                .run(arguments.toArray(String[]::new));
    }

    /**
     * SQL as the schema owner, for test fixtures the application's role may not write (it has only the
     * privileges the application uses, V8). The application itself never connects as the owner.
     */
    protected static JdbcClient asOwner() {
        return JdbcClient.create(new org.springframework.jdbc.datasource.SimpleDriverDataSource(new org.postgresql.Driver(),
                STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword()));
    }

    protected Api api() {
        return new Api(port);
    }

    /**
     * GET /v1/audit/verify for the tenant once the linker has linked every record committed so far (decisions are
     * committed unlinked and linked within 1 s, see AuditLinker); fails if records are still pending after 5 s.
     */
    protected Api.Answer verifyLinked(String tenant) {
        return verifyLinked(api(), tenant);
    }

    public static Api.Answer verifyLinked(Api api, String tenant) {
        String token = TestJwts.token("sec", tenant, "security-admin");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (true) {
            Api.Answer verification = api.get("/v1/audit/verify", token);
            if (verification.status() != 200 || verification.json().path("records_pending_link").asLong() == 0
                    || System.nanoTime() > deadline) {
                return verification;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return verification;
            }
        }
    }

    public static String newTenant() {
        return "t-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * Registers an agent with its tool manifest and home systems, bound to the SPIFFE ID {@link TestSvids#WORKLOAD_A}
     * (whose real JWT-SVID {@link #request} sends), and each of its tools (if not yet registered in the tenant) as
     * acting on the first home system with every action kind, and binds the agent to the enforcement point of every
     * test gateway ({@link TestJwts#GATEWAYS}). Tests of other features seed by SQL; the registry API itself is
     * tested in io.agentpdp.registry.
     */
    protected void registerAgent(String tenant, String agentId, String owner, String[] tools, String[] homeSystems) {
        jdbc.sql("""
                insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, spiffe_ids)
                values (?, ?, ?, ?, ?, ?)""")
                .params(tenant, agentId, owner, tools, homeSystems, new String[] {TestSvids.WORKLOAD_A})
                .update();
        bindAgents(tenant, agentId);
        defaultProfile(tenant);
        for (String tool : tools) {
            jdbc.sql("""
                    insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, credential_profile, updated_by)
                    values (?, ?, ?, array['read', 'write', 'delete', 'execute', 'payment', 'privilege_grant', 'secret_read'],
                            'low', ?, 'test')
                    on conflict do nothing""")
                    .params(tenant, tool, homeSystems.length > 0 ? homeSystems[0] : "crm", DEFAULT_PROFILE)
                    .update();
        }
    }

    /**
     * Binds {@code agentIds} (registered or not) to the enforcement point of every test gateway
     * ({@link TestJwts#GATEWAYS}) in {@code tenant}, creating those enforcement points as needed.
     */
    public static void bindAgents(JdbcClient jdbc, String tenant, String... agentIds) {
        for (String gateway : TestJwts.GATEWAYS) {
            bindAgentsTo(jdbc, tenant, gateway, agentIds);
        }
    }

    /** Binds {@code agentIds} to the enforcement point of {@code principal} (a decide token's subject) in {@code tenant}. */
    public static void bindAgentsTo(JdbcClient jdbc, String tenant, String principal, String... agentIds) {
        jdbc.sql("""
                insert into enforcement_point (tenant_id, id, principal, agent_ids, updated_by)
                values (?, gen_random_uuid(), ?, ?, 'test')
                on conflict (tenant_id, principal) do update
                set agent_ids = array(select distinct unnest(enforcement_point.agent_ids || excluded.agent_ids))""")
                .params(tenant, principal, agentIds)
                .update();
    }

    /** {@link #bindAgents(JdbcClient, String, String...)} with the application's connection. */
    protected void bindAgents(String tenant, String... agentIds) {
        bindAgents(jdbc, tenant, agentIds);
    }

    /** Registers (or re-targets) a tool of {@code tenant} acting on {@code system}, with every action kind. */
    protected void registerTool(String tenant, String tool, String system) {
        defaultProfile(tenant);
        jdbc.sql("""
                insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, credential_profile, updated_by)
                values (?, ?, ?, array['read', 'write', 'delete', 'execute', 'payment', 'privilege_grant', 'secret_read'],
                        'low', ?, 'test')
                on conflict (tenant_id, name) do update set target_system = excluded.target_system""")
                .params(tenant, tool, system, DEFAULT_PROFILE)
                .update();
    }

    /** The credential profile of the tools the fixtures register: a token with the tenant's crm-read policy. */
    public static final String DEFAULT_PROFILE = "test-default";

    /** The Vault policy a credential of {@link #DEFAULT_PROFILE} carries in {@code tenant}. */
    public static String defaultPolicy(String tenant) {
        return "tenant." + tenant + ".crm-read";
    }

    /**
     * Registers the tenant's {@link #DEFAULT_PROFILE} (caps above every policy limit, so the policy's own limits show)
     * and onboards the tenant in OpenBao (policies tenant.&lt;tenant&gt;.*, token role agent-pdp.&lt;tenant&gt;).
     */
    protected void defaultProfile(String tenant) {
        defaultProfile(jdbc, tenant);
    }

    /** {@link #defaultProfile(String)} for tests that do not extend this class. */
    public static void defaultProfile(JdbcClient jdbc, String tenant) {
        TenantLayout.onboard(tenant);
        jdbc.sql("""
                insert into credential_profile (tenant_id, name, kind, policies, max_ttl_seconds, max_uses, updated_by)
                values (?, ?, 'token', array['crm-read'], 3600, 100, 'test')
                on conflict do nothing""")
                .params(tenant, DEFAULT_PROFILE)
                .update();
    }

    /** A classification rule of {@code tenant}: {@code prefix} (canonical, no trailing '/') and below it. */
    protected void classify(String tenant, String system, String prefix, String classification) {
        jdbc.sql("""
                insert into classification_rule (tenant_id, id, system, resource_prefix, system_folded, prefix_folded,
                    level, updated_by)
                values (?, gen_random_uuid(), ?, ?, ?, ?, ?, 'test')""")
                .params(tenant, system, prefix, Registry.fold(system), Registry.fold(prefix), classification)
                .update();
    }

    /**
     * {@code body} as the next call of a delegation chain: its task names {@code parentDecisionId} and no chain
     * depth (the PDP derives it from the parent's record, issue 14).
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> childOf(Map<String, Object> body, String parentDecisionId) {
        Map<String, Object> child = new java.util.LinkedHashMap<>(body);
        Map<String, Object> task = new java.util.LinkedHashMap<>((Map<String, Object>) body.get("task"));
        task.remove("chain_depth");
        task.put("parent_decision_id", parentDecisionId);
        child.put("task", task);
        return child;
    }

    /**
     * Decides {@code body} as a chain root and then {@code depth} times as the child of the previous decision;
     * returns the id of the last one (whose derived chain depth is {@code depth}).
     */
    protected String decideChain(String token, Map<String, Object> body, int depth) {
        String parent = null;
        for (int d = 0; d <= depth; d++) {
            Api.Answer answer = api().post("/v1/decisions", token, parent == null ? body : childOf(body, parent));
            org.assertj.core.api.Assertions.assertThat(answer.status()).as("chain link %d", d).isEqualTo(200);
            parent = answer.text("decision_id");
        }
        return parent;
    }

    /** agent-7 reads {@code crm} {@code contacts/1}, declared public: ALLOW once agent-7 is registered with that tool. */
    public static Map<String, Object> lowRiskRead(String tenant) {
        return request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public");
    }

    /**
     * A valid decision request body; tests change what they need. The agent presents a real JWT-SVID of
     * {@link TestSvids#WORKLOAD_A}, issued by the stack's SPIRE, the identity {@link #registerAgent} binds.
     */
    public static Map<String, Object> request(String tenant, String agent, String tool, String action,
                                                 String system, String resource, String classification) {
        return new java.util.LinkedHashMap<>(Map.of(
                "tenant", tenant,
                "agent", agent(agent),
                "task", Map.of("id", "task-1", "intent", "help the customer", "chain_depth", 0),
                "tool", tool,
                "action", action,
                "target", Map.of("system", system, "resource", resource),
                "data_classification", classification));
    }

    /** The {@code agent} of a request: {@code id} with a real JWT-SVID of {@link TestSvids#WORKLOAD_A}. */
    public static Map<String, Object> agent(String id) {
        return Map.of("id", id, "workload_identity_token", TestSvids.token());
    }
}
