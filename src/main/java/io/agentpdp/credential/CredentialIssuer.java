package io.agentpdp.credential;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

import io.github.jopenlibs.vault.VaultException;
import io.github.jopenlibs.vault.rest.RestException;
import io.github.jopenlibs.vault.rest.RestResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Mints just-in-time Vault tokens for ALLOW/CONSTRAIN decisions and revokes them by accessor.
 * Minting is one round trip: {@code auth/token/create[/role]} with {@code X-Vault-Wrap-TTL}, whose
 * {@code wrap_info.wrapped_accessor} names the new token for later revocation.
 */
@Component("vault")
public class CredentialIssuer implements HealthIndicator {

    private final CredentialProperties properties;
    private final VaultSession session;
    private final JsonMapper json;
    private final String createPath;

    CredentialIssuer(CredentialProperties properties, VaultSession session, JsonMapper json) {
        this.properties = properties;
        this.session = session;
        this.json = json;
        this.createPath = properties.tokenRole().isBlank()
                ? "auth/token/create" : "auth/token/create/" + properties.tokenRole();
    }

    /** What to mint: Vault policies, TTL and uses from the policy; metadata naming who it is for. */
    public record Request(List<String> policies, Duration ttl, int numUses, String tenant, String agentId,
                          String taskId, String decisionId) {
    }

    /** A minted credential. {@link #token()} is the secret handed to the agent; never log or store it. */
    public record Issued(boolean wrapped, String token, String accessor, Duration wrapTtl, Duration ttl,
                         Instant expiresAt, int numUses, List<String> policies) {
        @Override
        public String toString() {
            return "Issued[wrapped=" + wrapped + ", ttl=" + ttl + ", numUses=" + numUses + ", policies=" + policies + "]";
        }
    }

    /** Vault could not mint (down, sealed, refused); the decision must not be ALLOW. */
    public static final class CredentialUnavailableException extends Exception {
        CredentialUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Mints one token. {@code clock} states its expiry: the decision passes one that runs on the database's
     * time, where the revocation and clean-up queries compare it.
     */
    public Issued issue(Request request, Clock clock) throws CredentialUnavailableException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("policies", request.policies());
        body.put("ttl", request.ttl().toSeconds() + "s");
        body.put("explicit_max_ttl", request.ttl().toSeconds() + "s");
        body.put("num_uses", request.numUses());
        body.put("renewable", false);
        body.put("display_name", "agent-" + request.agentId());
        body.put("meta", Map.of(
                "tenant", request.tenant(),
                "agent", request.agentId(),
                "task", request.taskId(),
                "decision", request.decisionId()));
        JsonNode response = post(createPath, body, properties.wrap());
        // Vault counts the TTL from before it answered: stamped after the answer, the expiry is never understated.
        // At the database's precision, so the answer states the expiry the record (and a later reuse) states.
        Instant issuedAt = clock.instant().truncatedTo(ChronoUnit.MICROS);
        if (properties.wrap()) {
            JsonNode wrapInfo = response.path("wrap_info");
            String wrapToken = wrapInfo.path("token").asString(null);
            String accessor = wrapInfo.path("wrapped_accessor").asString(null);
            if (wrapToken == null || accessor == null) {
                throw new CredentialUnavailableException("Vault answered without wrap_info token/wrapped_accessor", null);
            }
            return new Issued(true, wrapToken, accessor, properties.wrapTtl(), request.ttl(),
                    issuedAt.plus(request.ttl()), request.numUses(), request.policies());
        }
        JsonNode auth = response.path("auth");
        String token = auth.path("client_token").asString(null);
        String accessor = auth.path("accessor").asString(null);
        if (token == null || accessor == null) {
            throw new CredentialUnavailableException("Vault answered without auth.client_token/accessor", null);
        }
        long leaseSeconds = auth.path("lease_duration").asLong(request.ttl().toSeconds());
        return new Issued(false, token, accessor, null, Duration.ofSeconds(leaseSeconds),
                issuedAt.plusSeconds(leaseSeconds), request.numUses(), request.policies());
    }

    /** Revokes a minted token by its accessor (the token itself is never kept). */
    public void revoke(String accessor) throws CredentialUnavailableException {
        try {
            VaultSession.Answer response = sendWithRelogin("auth/token/revoke-accessor", Map.of("accessor", accessor), false);
            // 400 "invalid accessor": the token no longer exists (expired or used up), which is what revocation wants.
            if (response.status() == 400 && errors(response).contains("invalid accessor")) {
                return;
            }
            if (response.status() / 100 != 2) {
                throw new CredentialUnavailableException("Vault answered HTTP " + response.status()
                        + " on revoke-accessor" + errors(response), null);
            }
        } catch (VaultException | IOException | RuntimeException e) {
            throw new CredentialUnavailableException("Vault revoke-accessor failed: " + e.getMessage(), e);
        }
    }

    private JsonNode post(String path, Map<String, Object> body, boolean wrap) throws CredentialUnavailableException {
        try {
            VaultSession.Answer response = sendWithRelogin(path, body, wrap);
            if (response.status() / 100 != 2) {
                throw new CredentialUnavailableException("Vault answered HTTP " + response.status() + " on " + path
                        + errors(response), null);
            }
            byte[] bytes = response.body();
            return bytes.length == 0 ? json.createObjectNode() : json.readTree(bytes);
        } catch (VaultException | IOException | RuntimeException e) {
            throw new CredentialUnavailableException("Vault call " + path + " failed: " + e.getMessage(), e);
        }
    }

    /** Sends once; a 403 may mean the PDP's own token expired, so log in again and send once more. */
    private VaultSession.Answer sendWithRelogin(String path, Map<String, Object> body, boolean wrap)
            throws VaultException, IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        Duration wrapTtl = wrap ? properties.wrapTtl() : null;
        VaultSession.Answer response = session.post(path, bytes, wrapTtl);
        if (response.status() == 403) {
            session.invalidate();
            response = session.post(path, bytes, wrapTtl);
        }
        return response;
    }

    /** Vault's own error list, which never contains the token. */
    private String errors(VaultSession.Answer response) {
        try {
            JsonNode errors = json.readTree(response.body()).path("errors");
            return errors.isArray() && !errors.isEmpty() ? ": " + errors : "";
        } catch (RuntimeException e) {
            return ": " + new String(response.body(), 0, Math.min(200, response.body().length), StandardCharsets.UTF_8);
        }
    }

    /**
     * Ready only while Vault accepts the PDP's own token ({@code auth/token/lookup-self}): a sealed or
     * unreachable Vault, and one that lost its state (a restarted dev server, a revoked or expired token),
     * all report DOWN, as any mint would fail. A rejected token gets one fresh login where the auth
     * method allows it, as minting does.
     */
    @Override
    public Health health() {
        try {
            int status = lookupSelf().getStatus();
            if (status == 403) {
                session.invalidate();
                status = lookupSelf().getStatus();
            }
            return status == 200 ? Health.up().build() : Health.down().withDetail("status", status).build();
        } catch (VaultException | RestException | RuntimeException e) {
            return Health.down().withDetail("error", e.getClass().getSimpleName()).build();
        }
    }

    private RestResponse lookupSelf() throws VaultException, RestException {
        return session.rest("auth/token/lookup-self").header("X-Vault-Token", session.token()).get();
    }
}
