package io.agentpdp.quarantine;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.VaultProbe;

/** The kill switch on real PostgreSQL and OpenBao: state, cascade, triggers, replicas, tenant scope. */
class QuarantineTest extends IntegrationTest {

    @Autowired
    private Quarantine quarantine;

    private final VaultProbe vault = new VaultProbe(STACK.vaultUrl());
    private String tenant;
    private String decide;
    private String admin;
    private String otherAdmin;

    @BeforeEach
    void setUp() {
        tenant = newTenant();
        decide = TestJwts.token("gw-1", tenant, "decide");
        admin = TestJwts.token("sec-alice", tenant, "security-admin");
        otherAdmin = TestJwts.token("sec-bob", tenant, "security-admin");
        registerAgent(tenant, "agent-7", "owner", new String[] {"crm.contacts.read"}, new String[] {"crm"});
    }

    private Api.Answer read(Api api) {
        return api.post("/v1/decisions", decide, request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
    }

    private Api.Answer quarantineVia(Api api, String token, String agent) {
        return api.post("/v1/agents/" + agent + "/quarantine", token, Map.of("reason", "drifted from its task"));
    }

    @Test
    void quarantineDeniesRevokesLiveCredentialsAndCancelsApprovals() {
        String wrap = read(api()).json().path("credential").path("token").asString();
        String liveToken = vault.unwrap(wrap);
        assertThat(vault.lookupSelf(liveToken).status()).isEqualTo(200);
        UUID pending = UUID.randomUUID();
        jdbc.sql("""
                insert into approval (id, tenant_id, agent_id, task_id, tool, action, target_hash, classification, fingerprint,
                    status, requested_by, decision_id, expires_at)
                values (?, ?, 'agent-7', 't', 'crm.contacts.delete', 'delete', 'h', 'internal', ?, 'PENDING', 'gw-1', ?, ?)
                """).params(pending, tenant, UUID.randomUUID().toString(), UUID.randomUUID(), Timestamp.from(Instant.now().plusSeconds(600)))
                .update();

        Api.Answer outcome = quarantineVia(api(), admin, "agent-7");
        assertThat(outcome.status()).isEqualTo(200);
        assertThat(outcome.json().path("state").path("active").asBoolean()).isTrue();
        assertThat(outcome.json().path("credentials_revoked").asInt()).isEqualTo(1);
        assertThat(outcome.json().path("approvals_cancelled").asInt()).isEqualTo(1);
        assertThat(outcome.json().path("revocations_pending").asInt()).isZero();

        // The revoked token really fails against OpenBao.
        assertThat(vault.lookupSelf(liveToken).status()).isEqualTo(403);
        assertThat(jdbc.sql("select status from approval where id = ?").param(pending).query(String.class).single()).isEqualTo("CANCELLED");

        Api.Answer denied = read(api());
        assertThat(denied.text("outcome")).isEqualTo("DENY");
        assertThat(denied.json().path("reasons").toString()).isEqualTo("[\"quarantined\"]");

        Api.Answer view = api().get("/v1/agents/agent-7/quarantine", admin);
        assertThat(view.json().path("state").path("quarantined_by").asString()).isEqualTo(TestJwts.ISSUER + "|sec-alice");
        assertThat(view.json().path("history").findValuesAsString("action"))
                .containsExactly("QUARANTINE", "CANCEL_APPROVALS", "REVOKE");
    }

    @Test
    void admin1CannotReleaseAQuarantineSetByAdmin1InAnotherCase() {
        quarantineVia(api(), TestJwts.token("admin1", tenant, "security-admin"), "agent-7");
        for (String variant : java.util.List.of("Admin1", "ADMIN1", "\uFF21dmin1")) {
            Api.Answer alias = api().post("/v1/agents/agent-7/quarantine/release",
                    TestJwts.token(variant, tenant, "security-admin"), Map.of("reason", "it is me, trust me"));
            assertThat(alias.status()).as(variant).isEqualTo(403);
        }
        assertThat(read(api()).text("outcome")).isEqualTo("DENY");
        assertThat(api().post("/v1/agents/agent-7/quarantine/release", otherAdmin, Map.of("reason", "reviewed"))
                .status()).isEqualTo(200);
    }

    @Test
    void releaseNeedsASecondPrincipalAndRestoresDecisions() {
        quarantineVia(api(), admin, "agent-7");
        Api.Answer self = api().post("/v1/agents/agent-7/quarantine/release", admin, Map.of("reason", "fixed"));
        assertThat(self.status()).isEqualTo(403);
        assertThat(read(api()).text("outcome")).isEqualTo("DENY");

        Api.Answer released = api().post("/v1/agents/agent-7/quarantine/release", otherAdmin, Map.of("reason", "reviewed, fixed"));
        assertThat(released.status()).isEqualTo(200);
        assertThat(released.json().path("active").asBoolean()).isFalse();
        assertThat(read(api()).text("outcome")).isEqualTo("ALLOW");

        assertThat(api().post("/v1/agents/agent-7/quarantine/release", otherAdmin, Map.of("reason", "again")).status()).isEqualTo(409);
    }

    @Test
    void onlySecurityAdminsOfTheTenantActOnItsAgents() {
        assertThat(quarantineVia(api(), decide, "agent-7").status()).isEqualTo(403);
        assertThat(quarantineVia(api(), TestJwts.token("h", tenant, "approver"), "agent-7").status()).isEqualTo(403);

        // Another tenant's admin quarantines its own namesake, never ours.
        String otherTenant = newTenant();
        assertThat(quarantineVia(api(), TestJwts.token("evil", otherTenant, "security-admin"), "agent-7").status()).isEqualTo(200);
        assertThat(read(api()).text("outcome")).isEqualTo("ALLOW");
        assertThat(api().get("/v1/agents/agent-7/quarantine", admin).json().path("state").path("active").asBoolean()).isFalse();
        assertThat(api().get("/v1/agents/agent-7/quarantine", admin).json().path("history").size()).isZero();
    }

    @Test
    void aToolOutsideTheManifestQuarantinesTheAgent() {
        Api.Answer misuse = api().post("/v1/decisions", decide,
                request(tenant, "agent-7", "shell.exec", "execute", "crm", "contacts/1", "public"));
        assertThat(misuse.text("outcome")).isEqualTo("DENY");
        assertThat(misuse.json().path("reasons").toString()).contains("tool_not_in_manifest", "quarantined");
        assertThat(quarantine.state(tenant, "agent-7").orElseThrow().active()).isTrue();
        assertThat(read(api()).json().path("reasons").toString()).isEqualTo("[\"quarantined\"]");
    }

    @Test
    void aBurstOfDenialsQuarantinesTheAgent() {
        Map<String, Object> tooDeep = request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public");
        tooDeep.put("task", Map.of("id", "t", "intent", "loop", "chain_depth", 6));
        for (int i = 1; i <= 4; i++) {
            Api.Answer answer = api().post("/v1/decisions", decide, tooDeep);
            assertThat(answer.json().path("reasons").toString()).doesNotContain("quarantined");
        }
        Api.Answer fifth = api().post("/v1/decisions", decide, tooDeep);
        assertThat(fifth.json().path("reasons").toString()).contains("quarantine_trigger:deny_burst");
        assertThat(quarantine.state(tenant, "agent-7").orElseThrow().reason()).isEqualTo("automatic: deny_burst");
    }

    @Test
    void tenantMismatchesNeverFeedTheDenyBurst() {
        // Recorded in this tenant as DENY tenant_mismatch naming agent-7: refusals of the caller, not agent-7's behaviour.
        for (int i = 0; i < 5; i++) {
            Api.Answer refused = api().post("/v1/decisions", decide,
                    request(newTenant(), "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
            assertThat(refused.status()).isEqualTo(403);
        }
        Map<String, Object> tooDeep = request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public");
        tooDeep.put("task", Map.of("id", "t", "intent", "loop", "chain_depth", 6));
        Api.Answer policyDeny = api().post("/v1/decisions", decide, tooDeep);
        // A depth claimed without a parent (derived: 0): a policy DENY chain_mismatch that asks for no quarantine.
        assertThat(policyDeny.json().path("reasons").toString()).contains("chain_mismatch").doesNotContain("quarantined");
        assertThat(quarantine.state(tenant, "agent-7")).isEmpty();
        assertThat(read(api()).text("outcome")).isEqualTo("ALLOW");
    }

    @Test
    void quarantineThroughOneReplicaDeniesThroughTheOther() {
        try (ConfigurableApplicationContext second = replica()) {
            int secondPort = ((WebServerApplicationContext) second).getWebServer().getPort();
            Api replica = new Api(secondPort);
            assertThat(read(replica).text("outcome")).isEqualTo("ALLOW");
            assertThat(quarantineVia(api(), admin, "agent-7").status()).isEqualTo(200);
            assertThat(read(replica).text("outcome")).isEqualTo("DENY");
        }
    }

    @Test
    void expiredCredentialRowsAreCleanedUp() {
        jdbc.sql("""
                insert into issued_credential (accessor, tenant_id, agent_id, task_id, decision_id, policies, issued_at, expires_at)
                values (?, ?, 'agent-7', 't', ?, '{agent-read}', ?, ?)
                """).params("old-" + tenant, tenant, UUID.randomUUID(), Timestamp.from(Instant.now().minusSeconds(10_000)),
                        Timestamp.from(Instant.now().minusSeconds(7_300)))
                .update();
        assertThat(quarantine.cleanUpExpired()).isPositive();
        assertThat(jdbc.sql("select count(*) from issued_credential where accessor = ?").param("old-" + tenant)
                .query(Long.class).single()).isZero();
    }

    @Test
    void aCredentialRecordedAfterTheCascadeIsStillRevoked() {
        quarantineVia(api(), admin, "agent-7");
        // As if a decision that read the state just before the quarantine committed recorded its token now.
        VaultProbe.Reply minted = vault.call("POST", "auth/token/create/agent-pdp." + tenant, STACK.vaultPdpToken(),
                "{\"policies\":[\"" + defaultPolicy(tenant) + "\"],\"ttl\":\"300s\",\"num_uses\":5}");
        String token = minted.json().path("auth").path("client_token").asString();
        jdbc.sql("""
                insert into issued_credential (accessor, tenant_id, agent_id, task_id, decision_id, policies, issued_at, expires_at)
                values (?, ?, 'agent-7', 't', ?, '{agent-read}', now(), now() + interval '5 minutes')
                """).params(minted.json().path("auth").path("accessor").asString(), tenant, UUID.randomUUID()).update();
        assertThat(vault.lookupSelf(token).status()).isEqualTo(200);

        quarantine.retryRevocations();

        assertThat(vault.lookupSelf(token).status()).isEqualTo(403);
    }

    @Test
    void releaseCancelsApprovalsThatEscapedTheQuarantine() {
        quarantineVia(api(), admin, "agent-7");
        UUID raced = UUID.randomUUID();
        jdbc.sql("""
                insert into approval (id, tenant_id, agent_id, task_id, tool, action, target_hash, classification, fingerprint,
                    status, requested_by, decision_id, expires_at)
                values (?, ?, 'agent-7', 't', 'crm.contacts.delete', 'delete', 'h', 'internal', ?, 'APPROVED', 'gw-1', ?, ?)
                """).params(raced, tenant, UUID.randomUUID().toString(), UUID.randomUUID(), Timestamp.from(Instant.now().plusSeconds(300)))
                .update();
        assertThat(api().post("/v1/agents/agent-7/quarantine/release", otherAdmin, Map.of("reason", "reviewed")).status()).isEqualTo(200);
        assertThat(jdbc.sql("select status from approval where id = ?").param(raced).query(String.class).single()).isEqualTo("CANCELLED");
    }
}
