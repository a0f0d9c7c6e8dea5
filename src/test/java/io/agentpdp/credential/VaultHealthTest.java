package io.agentpdp.credential;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;

import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.VaultProbe;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@code vault} readiness component checks the PDP's own token, not just that Vault answers: an
 * OpenBao that lost its state (a restarted dev server) or revoked the PDP's token answers its health
 * endpoint happily, yet every mint would fail, so the replica must not be ready.
 */
class VaultHealthTest extends IntegrationTest {

    private static final VaultProbe VAULT = new VaultProbe(STACK.vaultUrl());

    @Test
    void aVaultThatNoLongerKnowsThePdpsTokenMakesItNotReady() throws Exception {
        // A replica with a token of its own (same policy as the stack's), so revoking it spares the other tests.
        String pdpToken = VAULT.call("POST", "auth/token/create", STACK.vaultRootToken(),
                "{\"policies\":[\"agent-pdp\"],\"ttl\":\"1h\",\"no_parent\":true}").json().path("auth").path("client_token").asString();
        ApplicationContextInitializer<ConfigurableApplicationContext> ownToken = context -> context.getEnvironment()
                .getPropertySources().addFirst(new MapPropertySource("own-vault-token", Map.of("pdp.vault.token", pdpToken)));
        try (ConfigurableApplicationContext replica = replica(ownToken)) {
            int managementPort = Integer.parseInt(replica.getEnvironment().getProperty("local.management.port"));
            assertThat(vaultComponent(managementPort)).isEqualTo("UP");

            assertThat(VAULT.call("POST", "auth/token/revoke", STACK.vaultRootToken(),
                    "{\"token\":\"" + pdpToken + "\"}").status()).isEqualTo(204);
            HttpResponse<String> readiness = readiness(managementPort);
            assertThat(readiness.statusCode()).as(readiness.body()).isEqualTo(503);
            assertThat(vaultComponent(managementPort)).as("Vault itself is up and unsealed, but the PDP's token is gone")
                    .isEqualTo("DOWN");
            assertThat(VAULT.call("GET", "sys/health", null, null).status()).isEqualTo(200);
        }
    }

    private static String vaultComponent(int managementPort) throws Exception {
        JsonNode health = JsonMapper.builder().build().readTree(readiness(managementPort).body());
        return health.path("components").path("vault").path("status").asString();
    }

    private static HttpResponse<String> readiness(int managementPort) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + managementPort + "/actuator/health/readiness")).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
