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

    public static String newTenant() {
        return "t-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * Registers an agent with its tool manifest and home systems, bound to the SPIFFE ID {@link TestSvids#WORKLOAD_A}
     * (whose real JWT-SVID {@link #request} sends), and each of its tools (if not yet registered in the tenant) as
     * acting on the first home system with every action kind. Tests of other features seed by SQL; the registry API
     * itself is tested in io.agentpdp.registry.
     */
    protected void registerAgent(String tenant, String agentId, String owner, String[] tools, String[] homeSystems) {
        jdbc.sql("""
                insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, spiffe_ids)
                values (?, ?, ?, ?, ?, ?)""")
                .params(tenant, agentId, owner, tools, homeSystems, new String[] {TestSvids.WORKLOAD_A})
                .update();
        for (String tool : tools) {
            jdbc.sql("""
                    insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, updated_by)
                    values (?, ?, ?, array['read', 'write', 'delete', 'execute', 'payment', 'privilege_grant', 'secret_read'],
                            'low', 'test')
                    on conflict do nothing""")
                    .params(tenant, tool, homeSystems.length > 0 ? homeSystems[0] : "crm")
                    .update();
        }
    }

    /** Registers (or re-targets) a tool of {@code tenant} acting on {@code system}, with every action kind. */
    protected void registerTool(String tenant, String tool, String system) {
        jdbc.sql("""
                insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, updated_by)
                values (?, ?, ?, array['read', 'write', 'delete', 'execute', 'payment', 'privilege_grant', 'secret_read'],
                        'low', 'test')
                on conflict (tenant_id, name) do update set target_system = excluded.target_system""")
                .params(tenant, tool, system)
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
