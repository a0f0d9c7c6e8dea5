package io.agentpdp.credential;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import io.github.jopenlibs.vault.Vault;
import io.github.jopenlibs.vault.VaultConfig;
import io.github.jopenlibs.vault.VaultException;
import io.github.jopenlibs.vault.response.AuthResponse;
import io.github.jopenlibs.vault.rest.Rest;

/**
 * The PDP's own authenticated session with Vault: logs in lazily (so the PDP starts while Vault is
 * down and simply denies), re-logs in when the token is rejected, and shares one keep-alive HTTP client.
 */
@Component
class VaultSession {

    private static final Logger log = LoggerFactory.getLogger(VaultSession.class);

    private final CredentialProperties properties;
    private final HttpClient http;
    private volatile String token;

    VaultSession(CredentialProperties properties) {
        this.properties = properties;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(properties.timeoutSeconds()))
                .build();
        if (properties.authMethod() == CredentialProperties.AuthMethod.TOKEN) {
            this.token = properties.token();
        }
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
