package io.agentpdp.credential;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.ssl.DefaultClientTlsStrategy;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

import io.agentpdp.http.PooledHttpClients;
import io.github.jopenlibs.vault.Vault;
import io.github.jopenlibs.vault.VaultConfig;
import io.github.jopenlibs.vault.VaultException;
import io.github.jopenlibs.vault.response.AuthResponse;
import io.github.jopenlibs.vault.rest.Rest;

/**
 * The PDP's own authenticated session with Vault: logs in lazily (so the PDP starts while Vault is
 * down and simply denies), re-logs in when the token is rejected, and shares keep-alive HTTP clients.
 * The calls on the decision path (mint, dynamic secrets, revoke: {@link #call}) use a pooled Apache HttpClient that runs
 * blocking on the caller's thread; the driver's JDK client (login, health, transit) hands every
 * exchange to its worker and selector threads, which cost about a quarter of the PDP's CPU per minting ALLOW.
 */
@Component
class VaultSession implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(VaultSession.class);
    /** A mint or revoke answer is well under a kilobyte; a larger one is not read into memory. */
    private static final int MAX_ANSWER_BYTES = 1 << 20;
    /** Concurrent Vault calls of one replica. */
    private static final int MAX_CONNECTIONS = 200;

    private final CredentialProperties properties;
    private final HttpClient http;
    private final PoolingHttpClientConnectionManager pool;
    private final CloseableHttpClient calls;
    private volatile String token;

    /** Vault's answer to a {@link #call}: status and body, read completely. */
    record Answer(int status, byte[] body) {
    }

    VaultSession(CredentialProperties properties) {
        this.properties = properties;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(properties.timeoutSeconds()))
                .build();
        // The JVM's default trust (javax.net.ssl.* system properties), as the JDK client uses. At most
        // MAX_CONNECTIONS concurrent calls; more wait for a connection, at most the call's timeout.
        this.pool = PooledHttpClients.pool(MAX_CONNECTIONS, properties.timeout(), properties.timeout(),
                DefaultClientTlsStrategy.createSystemDefault());
        this.calls = PooledHttpClients.client(pool, properties.timeout());
        if (properties.authMethod() == CredentialProperties.AuthMethod.TOKEN) {
            this.token = properties.token();
        }
    }

    /**
     * Sends {@code method} to {@code /v1/<path>} with the PDP's token and {@code body} (JSON; null: none);
     * {@code wrapTtl}, if not null, asks Vault to response-wrap the answer.
     * <p>
     * A connection that Vault closed or reset (it restarted, or a proxy on the way did) means every idle pooled
     * connection is from before that, and one reused within the pool's unchecked 2 s would fail the next
     * decision too: they are all dropped, so one failure is the whole cost. The call itself is not sent again
     * (a mint is not idempotent: the first token may exist, and its wrapping token would be lost).
     */
    Answer call(String method, String path, byte[] body, Duration wrapTtl) throws IOException, VaultException {
        try {
            return send(method, path, body, wrapTtl);
        } catch (IOException e) {
            PooledHttpClients.droppedStaleConnections(pool, e);
            throw e;
        }
    }

    private Answer send(String method, String path, byte[] body, Duration wrapTtl) throws IOException, VaultException {
        HttpUriRequestBase request = new HttpUriRequestBase(method, properties.url().resolve("/v1/" + path));
        request.setHeader("X-Vault-Token", token());
        if (wrapTtl != null) {
            request.setHeader("X-Vault-Wrap-TTL", wrapTtl.toSeconds() + "s");
        }
        if (body != null) {
            request.setEntity(new ByteArrayEntity(body, ContentType.APPLICATION_JSON));
        }
        return calls.execute(request, response -> new Answer(response.getCode(),
                response.getEntity() == null ? new byte[0] : EntityUtils.toByteArray(response.getEntity(), MAX_ANSWER_BYTES)));
    }

    @Override
    public void destroy() throws IOException {
        calls.close();
    }

    /** A request builder on the shared client, for {@code /v1/<path>}. */
    Rest rest(String path) {
        return new Rest(http)
                .url(properties.url().resolve("/v1/" + path).toString())
                .connectTimeoutSeconds(properties.timeoutSeconds())
                .readTimeoutSeconds(properties.timeoutSeconds());
    }

    /** The current token, logging in first if needed. */
    String token() throws VaultException {
        String current = token;
        if (current == null || current.isBlank()) {
            current = login();
        }
        return current;
    }

    /** Called when Vault answered 403: the token may have expired; log in again (not for static tokens). */
    void invalidate() {
        if (properties.authMethod() != CredentialProperties.AuthMethod.TOKEN) {
            token = null;
        }
    }

    private synchronized String login() throws VaultException {
        if (token != null && !token.isBlank()) {
            return token;
        }
        Vault vault = Vault.create(new VaultConfig()
                .address(properties.url().toString())
                .httpClient(http)
                .openTimeout(properties.timeoutSeconds())
                .readTimeout(properties.timeoutSeconds())
                .engineVersion(2)
                .build());
        AuthResponse response = switch (properties.authMethod()) {
            case TOKEN -> throw new VaultException("pdp.vault.token is not set");
            case APPROLE -> vault.auth().loginByAppRole(properties.approle().mount(),
                    properties.approle().roleId(), properties.approle().secretId());
            case KUBERNETES -> vault.auth().loginByKubernetes(properties.kubernetes().role(),
                    readServiceAccountToken(), properties.kubernetes().mount());
        };
        token = response.getAuthClientToken();
        log.info("Logged in to Vault with {} auth", properties.authMethod().name().toLowerCase());
        return token;
    }

    private String readServiceAccountToken() throws VaultException {
        try {
            return Files.readString(Path.of(properties.kubernetes().jwtPath())).trim();
        } catch (IOException e) {
            throw new VaultException(e);
        }
    }
}
