package io.agentpdp.quarantine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.VaultProbe;

/**
 * Issue 15: a quarantine revokes many live credentials, tokens and database leases alike, in parallel with a
 * bounded concurrency (pdp.vault.revocation-concurrency), and each one really is revoked in OpenBao.
 */
class QuarantineBatchRevocationTest extends IntegrationTest {

    private static final int TOKENS = 121;
    private static final int LEASES = 4;
    /** The reference tenant with the database layout (scripts/stack/tenant-layout.sh). */
    private static final String TENANT = "acme";

    private final VaultProbe vault = new VaultProbe(STACK.vaultUrl());

    private record Minted(String secret, String handle) {
    }

    @Test
    void aQuarantineRevokesManyTokensAndLeases() throws Exception {
        String agent = "bulk-" + UUID.randomUUID().toString().substring(0, 8);
        registerAgent(TENANT, agent, "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        List<Minted> tokens = new ArrayList<>();
        List<Minted> leases = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<Minted>> minting = new ArrayList<>();
            for (int i = 0; i < TOKENS; i++) {
                minting.add(pool.submit(() -> {
                    VaultProbe.Reply reply = vault.call("POST", "auth/token/create/agent-pdp." + TENANT, STACK.vaultPdpToken(),
                            "{\"policies\":[\"" + defaultPolicy(TENANT) + "\"],\"ttl\":\"300s\",\"num_uses\":5}");
                    return new Minted(reply.json().path("auth").path("client_token").asString(),
                            reply.json().path("auth").path("accessor").asString());
                }));
            }
            for (Future<Minted> minted : minting) {
                tokens.add(minted.get());
            }
        }
        for (int i = 0; i < LEASES; i++) {
            VaultProbe.Reply reply = vault.call("GET", "database/creds/acme.crm-read", STACK.vaultPdpToken(), null);
            assertThat(reply.status()).isEqualTo(200);
            leases.add(new Minted(null, reply.json().path("lease_id").asString()));
        }
        List<Minted> all = new ArrayList<>(tokens);
        all.addAll(leases);
        for (Minted minted : all) {
            jdbc.sql("""
                    insert into issued_credential (accessor, tenant_id, agent_id, task_id, decision_id, policies, issued_at, expires_at)
                    values (?, ?, ?, 't', ?, '{x}', now(), now() + interval '5 minutes')
                    """).params(minted.handle(), TENANT, agent, UUID.randomUUID()).update();
        }

        long start = System.nanoTime();
        Api.Answer outcome = api().post("/v1/agents/" + agent + "/quarantine", TestJwts.token("sec-1", TENANT, "security-admin"),
                Map.of("reason", "bulk revocation"));
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("quarantine revoked %d credentials in %d ms%n", all.size(), millis);

        assertThat(outcome.status()).as(outcome.body()).isEqualTo(200);
        assertThat(outcome.json().path("credentials_revoked").asInt()).isEqualTo(TOKENS + LEASES);
        assertThat(outcome.json().path("revocations_pending").asInt()).isZero();
        for (Minted token : tokens) {
            assertThat(vault.lookupSelf(token.secret()).status()).isEqualTo(403);
        }
        for (Minted lease : leases) {
            assertThat(vault.call("PUT", "sys/leases/lookup", STACK.vaultRootToken(), "{\"lease_id\":\"" + lease.handle() + "\"}")
                    .status()).isEqualTo(400);
        }
        assertThat(jdbc.sql("select count(*) from issued_credential where tenant_id = ? and agent_id = ? and revoked_at is null")
                .params(TENANT, agent).query(Long.class).single()).isZero();
        assertThat(jdbc.sql("select count(*) from quarantine_event where tenant_id = ? and agent_id = ? and action = 'REVOKE'")
                .params(TENANT, agent).query(Long.class).single()).isEqualTo(TOKENS + LEASES);
    }
}
