package io.agentpdp.credential;

import java.net.URI;
import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How the PDP reaches Vault/OpenBao and how it mints agent credentials.
 *
 * @param url          Vault base URL (default http://127.0.0.1:8200)
 * @param authMethod   how the PDP authenticates: {@code token}, {@code approle} or {@code kubernetes} (default token)
 * @param token        the PDP's own Vault token for {@code token} auth (never the root token in production)
 * @param approle      AppRole login settings
 * @param kubernetes   Kubernetes login settings
 * @param tokenRole    token role used to mint a tenant's agent tokens, {@code {tenant}} replaced by the tenant (default
 *                     {@code agent-pdp.{tenant}}: one role per tenant that allows only {@code tenant.<tenant>.*} policies;
 *                     docs/operations.md); empty mints with auth/token/create (no tenant boundary in Vault: tests only)
 * @param wrap         response-wrap minted tokens (default true): the agent gets a single-use wrapping token
 * @param wrapTtl      lifetime of the wrapping token (default 60s)
 * @param timeout      connect and read deadline for one Vault call (default 2s; the driver counts whole seconds)
 * @param revocationConcurrency revocations in flight at once when a quarantine revokes many credentials (default 8)
 */
@ConfigurationProperties("pdp.vault")
record CredentialProperties(@DefaultValue("http://127.0.0.1:8200") URI url,
                            @DefaultValue("token") AuthMethod authMethod,
                            String token,
                            @DefaultValue AppRole approle,
                            @DefaultValue Kubernetes kubernetes,
                            @DefaultValue("agent-pdp.{tenant}") String tokenRole,
                            @DefaultValue("true") boolean wrap,
                            @DefaultValue("60s") Duration wrapTtl,
                            @DefaultValue("2s") Duration timeout,
                            @DefaultValue("8") int revocationConcurrency) {

    CredentialProperties {
        if (revocationConcurrency < 1 || revocationConcurrency > 64) {
            throw new IllegalArgumentException("pdp.vault.revocation-concurrency must be from 1 to 64");
        }
    }

    enum AuthMethod { TOKEN, APPROLE, KUBERNETES }

    /**
     * @param mount    auth mount (default approle)
     * @param roleId   AppRole role id
     * @param secretId AppRole secret id (from a Secret, rotated by ops)
     */
    record AppRole(@DefaultValue("approle") String mount, String roleId, String secretId) {
    }

    /**
     * @param mount   auth mount (default kubernetes)
     * @param role    Vault role bound to the PDP's service account
     * @param jwtPath projected service-account token (default /var/run/secrets/kubernetes.io/serviceaccount/token)
     */
    record Kubernetes(@DefaultValue("kubernetes") String mount, String role,
                      @DefaultValue("/var/run/secrets/kubernetes.io/serviceaccount/token") String jwtPath) {
    }

    int timeoutSeconds() {
        return (int) Math.max(1, (timeout.toMillis() + 999) / 1000);
    }
}
