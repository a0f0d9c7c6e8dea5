package io.agentpdp.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TenantLayout;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.TestStack;
import tools.jackson.databind.JsonNode;

/** The GitOps path: a registry file applied idempotently, with a diff, all or nothing. */
class RegistryApplyTest extends IntegrationTest {

    private static final Path DEMO_FILE = TestStack.projectRoot().resolve("scripts/demo/registry.yaml");

    /** scripts/demo/registry.yaml: 2 systems, 4 credential profiles, 5 tools, 2 agents, 1 enforcement point, 1 rule. */
    private static final int DEMO_ENTRIES = 16;
    private String tenant;
    private String admin;
    private String file;

    @BeforeEach
    void tenant() throws IOException {
        tenant = newTenant();
        admin = TestJwts.token("ops-1", tenant, "registry-admin");
        file = Files.readString(DEMO_FILE).replace("tenant: demo", "tenant: " + tenant);
        // The demo file's credential profiles name the tenant's OpenBao policies: the tenant is onboarded there.
        TenantLayout.onboard(tenant);
    }

    private Api.Answer apply(String body, String query) {
        return api().exchange("POST", "/v1/registry/apply" + query, admin, Map.of("Content-Type", "application/yaml"), body).answer();
    }

    @Test
    void theDemoFileAppliesOnceAndThenChangesNothing() {
        Api.Answer first = apply(file, "");
        assertThat(first.status()).as(first.body()).isEqualTo(200);
        assertThat(first.json().path("changes").size()).isEqualTo(DEMO_ENTRIES);
        assertThat(first.json().path("changes").toString()).contains("\"action\":\"CREATE\"");

        Api.Answer second = apply(file, "");
        assertThat(second.json().path("changes").size()).isZero();
        assertThat(second.json().path("unchanged").asInt()).isEqualTo(DEMO_ENTRIES);
        assertThat(api().get("/v1/registry/changes?limit=200", admin).json().path("items").size()).isEqualTo(DEMO_ENTRIES);

        // What the file registers is what the decision uses: crm is case-insensitive, contacts/vip confidential.
        String decide = TestJwts.token("demo-gateway", tenant, "decide");
        Api.Answer vip = api().post("/v1/decisions", decide,
                withArguments(request(tenant, "agent-7", "crm.contacts.read", "read", "CRM", "Contacts/VIP/7", "internal"), "Contacts/VIP/7"));
        assertThat(vip.text("outcome")).as(vip.body()).isEqualTo("CONSTRAIN");
        Api.Answer read = api().post("/v1/decisions", decide,
                withArguments(request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/42", "internal"), "contacts/42"));
        assertThat(read.text("outcome")).isEqualTo("ALLOW");
    }

    @Test
    void aDryRunShowsTheDiffAndChangesNothing() {
        apply(file, "");
        String changed = file.replace("labels: {risk-tier: medium, team: support}", "labels: {risk-tier: high, team: support}");
        Api.Answer dry = apply(changed, "?dry_run=true");
        assertThat(dry.json().path("dry_run").asBoolean()).isTrue();
        JsonNode change = dry.json().path("changes").get(0);
        assertThat(change.path("action").asString()).isEqualTo("REPLACE");
        assertThat(change.path("key").asString()).isEqualTo("agent-7");
        assertThat(change.path("fields").toString()).isEqualTo("[\"labels\"]");
        assertThat(api().get("/v1/registry/agents/agent-7", admin).json().path("version").asLong()).isEqualTo(1);

        Api.Answer applied = apply(changed, "?dry_run=false");
        assertThat(applied.json().path("changes").size()).isEqualTo(1);
        JsonNode agent = api().get("/v1/registry/agents/agent-7", admin).json();
        assertThat(agent.path("version").asLong()).isEqualTo(2);
        assertThat(agent.path("labels").path("risk-tier").asString()).isEqualTo("high");
    }

    @Test
    void pruneDeletesWhatTheFileNoLongerNames() {
        apply(file, "");
        String without = file.substring(0, file.indexOf("classifications:")) + "classifications: []\n";
        assertThat(apply(without, "").json().path("changes").size()).as("without prune nothing is deleted").isZero();
        Api.Answer pruned = apply(without, "?prune=true");
        assertThat(pruned.json().path("changes").size()).isEqualTo(1);
        assertThat(pruned.json().path("changes").get(0).path("action").asString()).isEqualTo("DELETE");
        assertThat(pruned.json().path("changes").get(0).path("key").asString()).isEqualTo("crm contacts/vip");
        assertThat(api().get("/v1/registry/classifications", admin).json().path("items").size()).isZero();
    }

    @Test
    void aFileWithOneBadEntryAppliesNothing() {
        String bad = file.replace("resource_prefix: contacts/vip", "resource_prefix: contacts//vip");
        Api.Answer answer = apply(bad, "");
        assertThat(answer.status()).isEqualTo(400);
        assertThat(answer.text("detail")).contains("classifications[0].resource_prefix");
        assertThat(api().get("/v1/registry/agents", admin).json().path("items").size()).isZero();
    }

    @Test
    void badFilesAreRefusedWithAProblem() {
        assertThat(apply(file.replace("tenant: " + tenant, "tenant: someone-else"), "").status()).isEqualTo(400);
        assertThat(apply("agents: [", "").status()).isEqualTo(400);
        assertThat(apply("- just a list", "").status()).isEqualTo(400);
        assertThat(apply("robots: []", "").status()).isEqualTo(400);
        Api.Answer alias = apply("agents: &x []\ntools: *x", "");
        assertThat(alias.status()).as("no aliases").isEqualTo(400);
        assertThat(alias.text("detail")).contains("does not parse as YAML");
        assertThat(apply("agents: []\nagents: []", "").status()).as("no duplicate keys").isEqualTo(400);
        Api.Answer twice = apply(file.replace("agents:\n", "agents:\n  - id: agent-7\n    owner: {issuer: i, subject: s}\n    allowed_tools: []\n"), "");
        assertThat(twice.status()).isEqualTo(400);
        assertThat(twice.text("detail")).contains("a second time");
        assertThat(apply(file, "?dry_run=maybe").status()).isEqualTo(400);
        assertThat(api().exchange("POST", "/v1/registry/apply", TestJwts.token("sec", tenant, "security-admin"),
                Map.of("Content-Type", "application/yaml"), file).answer().status()).isEqualTo(403);
    }

    @Test
    void theApplyScriptPrintsTheDiffAndThenNoChanges(@TempDir Path dir) throws Exception {
        Path registry = dir.resolve("registry.yaml");
        Files.writeString(registry, file);
        String firstRun = runScript(registry);
        assertThat(firstRun).contains("+ agent agent-7").contains("+ classification crm contacts/vip")
                .contains("+ credential_profile db-reader").contains("changed " + DEMO_ENTRIES + " entries");
        assertThat(runScript(registry)).contains("no changes (" + DEMO_ENTRIES + " entries unchanged)");

        Files.writeString(registry, file.replace("max_chain_depth: 5", "max_chain_depth: 3"));
        assertThat(runScript(registry, "--dry-run")).contains("~ agent agent-7: max_chain_depth")
                .contains("max_chain_depth: 5 -> 3").contains("dry run: would change 1 entries");
    }

    private String runScript(Path registry, String... flags) throws Exception {
        java.util.List<String> command = new java.util.ArrayList<>();
        command.add(TestStack.projectRoot().resolve("scripts/registry-apply.sh").toString());
        command.addAll(java.util.List.of(flags));
        command.add(registry.toString());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("PDP_URL", "http://127.0.0.1:" + port);
        builder.environment().put("PDP_TOKEN", admin);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output;
    }

    /** crm.contacts.read of the demo file requires its contact_id argument. */
    private static java.util.Map<String, Object> withArguments(java.util.Map<String, Object> body, String resource) {
        body.put("arguments", java.util.Map.of("contact_id", resource));
        // The demo file binds agent-7 to the SPIFFE ID the stack's SPIRE issues to the demo agent.
        body.put("agent", java.util.Map.of("id", "agent-7", "workload_identity_token",
                io.agentpdp.support.TestSvids.token(io.agentpdp.support.TestSvids.AGENT_7, io.agentpdp.support.TestSvids.AUDIENCE)));
        return body;
    }
}
