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
 * Mints just-in-time credentials for ALLOW/CONSTRAIN decisions, within the tool's credential profile and the
 * tenant's OpenBao/Vault layout (docs/operations.md), and revokes them by accessor or lease id.
 * <ul>
 *   <li>A {@link CredentialProfile.Kind#TOKEN token} is one round trip: {@code auth/token/create/<tenant role>}
 *   with {@code X-Vault-Wrap-TTL}, whose {@code wrap_info.wrapped_accessor} names the new token for later
 *   revocation. The tenant's token role allows only the tenant's policies {@code tenant.<tenant>.*} and entity
 *   aliases {@code <tenant>/agents/*}: OpenBao itself refuses anything else.</li>
 *   <li>A {@link CredentialProfile.Kind#DYNAMIC dynamic} secret is read from {@code <mount>/creds/<tenant>.<role>},
 *   its lease set to the decided TTL ({@code sys/leases/renew}), and wrapped with {@code sys/wrapping/wrap}; the
 *   lease id is the revocation handle. Any failure after the read revokes the lease before answering.</li>
 * </ul>
 * Before any call, the request is checked against the profile: a policy result that asks for a policy or role
 * outside the profile (or the tenant), or for more TTL or uses than its caps, is refused.
 */
@Component("vault")
public class CredentialIssuer implements HealthIndicator {

    private final CredentialProperties properties;
    private final VaultSession session;
    private final JsonMapper json;

    CredentialIssuer(CredentialProperties properties, VaultSession session, JsonMapper json) {
        this.properties = properties;
        this.session = session;
        this.json = json;
    }

    /**
     * What to mint: the tool's profile (null when the tool has none, or names one that is not registered), the
     * policies (for a dynamic profile: the engine path), TTL and uses the policy decided; metadata naming who it
     * is for.
     */
    public record Request(CredentialProfile profile, List<String> policies, Duration ttl, int numUses, String tenant,
                          String agentId, String taskId, String decisionId) {
    }

    /** How the secret is handed over, as the decision's {@code credential.type} says. */
    public enum Form {
        WRAPPED_TOKEN, TOKEN, WRAPPED_SECRET;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * A minted credential. {@link #token()} is the secret handed to the agent (for {@link Form#WRAPPED_SECRET}
     * the wrapping token of the dynamic secret); never log or store it. {@link #accessor()} is the revocation
     * handle: the token's accessor, or the dynamic secret's lease id.
     */
    public record Issued(Form form, String token, String accessor, Duration wrapTtl, Duration ttl,
                         Instant expiresAt, int numUses, List<String> policies) {

        public boolean wrapped() {
            return form != Form.TOKEN;
        }

        @Override
        public String toString() {
            return "Issued[form=" + form + ", ttl=" + ttl + ", numUses=" + numUses + ", policies=" + policies + "]";
        }
    }

    /** Vault could not mint (down, sealed, refused); the decision must not be ALLOW. */
    public static final class CredentialUnavailableException extends Exception {
        CredentialUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The request is outside the tool's credential profile or the tenant's allowed set (no profile, another
     * tenant's or an unlisted policy, over a cap): nothing is minted, the decision is DENY
     * {@code credential_profile_invalid}.
     */
    public static final class CredentialProfileInvalidException extends Exception {
        CredentialProfileInvalidException(String message) {
            super(message);
        }
    }

    /**
     * Mints one credential. {@code clock} states its expiry: the decision passes one that runs on the database's
     * time, where the revocation and clean-up queries compare it.
     */
    public Issued issue(Request request, Clock clock) throws CredentialUnavailableException, CredentialProfileInvalidException {
        CredentialProfile profile = check(request);
        return profile.kind() == CredentialProfile.Kind.DYNAMIC ? issueDynamic(request, profile, clock)
                : issueToken(request, profile, clock);
    }

    /** The profile the request may be minted under, or why not. */
    static CredentialProfile check(Request request) throws CredentialProfileInvalidException {
        CredentialProfile profile = request.profile();
        if (profile == null) {
            throw new CredentialProfileInvalidException("the tool has no registered credential profile");
        }
        List<String> grantable = profile.grantable(request.tenant());
        if (grantable.isEmpty()) {
            throw new CredentialProfileInvalidException("profile " + profile.name() + " grants nothing in this tenant"
                    + " (the tenant or a name is not a Vault name)");
        }
        if (request.policies().isEmpty() || !grantable.containsAll(request.policies())
                || (profile.kind() == CredentialProfile.Kind.DYNAMIC && !grantable.equals(request.policies()))) {
            throw new CredentialProfileInvalidException("the policy asked for " + request.policies() + "; profile "
                    + profile.name() + " allows " + grantable);
        }
        if (request.ttl().compareTo(profile.maxTtl()) > 0 || request.ttl().isNegative() || request.ttl().isZero()) {
            throw new CredentialProfileInvalidException("TTL " + request.ttl().toSeconds() + "s is over profile "
                    + profile.name() + "'s cap of " + profile.maxTtl().toSeconds() + "s");
        }
        if (profile.kind() == CredentialProfile.Kind.TOKEN
                && (profile.maxUses() == null || request.numUses() < 1 || request.numUses() > profile.maxUses())) {
            throw new CredentialProfileInvalidException(request.numUses() + " uses is outside profile "
                    + profile.name() + "'s cap of " + profile.maxUses());
        }
        return profile;
    }

    private Issued issueToken(Request request, CredentialProfile profile, Clock clock) throws CredentialUnavailableException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("policies", request.policies());
        body.put("ttl", request.ttl().toSeconds() + "s");
        body.put("explicit_max_ttl", request.ttl().toSeconds() + "s");
        body.put("num_uses", request.numUses());
        body.put("renewable", false);
        body.put("display_name", "agent-" + request.agentId());
        if (profile.perAgent()) {
            // The agent's identity in OpenBao: templated policies (agent-own) resolve to its own paths only.
            body.put("entity_alias", request.tenant() + "/agents/" + request.agentId());
        }
        body.put("meta", Map.of(
                "tenant", request.tenant(),
                "agent", request.agentId(),
                "task", request.taskId(),
                "decision", request.decisionId()));
        boolean wrap = properties.wrap() && profile.wrapped();
        JsonNode response = post(createPath(request.tenant()), body, wrap);
        // Vault counts the TTL from before it answered: stamped after the answer, the expiry is never understated.
        // At the database's precision, so the answer states the expiry the record (and a later reuse) states.
        Instant issuedAt = clock.instant().truncatedTo(ChronoUnit.MICROS);
        if (wrap) {
            JsonNode wrapInfo = response.path("wrap_info");
            String wrapToken = wrapInfo.path("token").asString(null);
            String accessor = wrapInfo.path("wrapped_accessor").asString(null);
            if (wrapToken == null || accessor == null) {
                throw new CredentialUnavailableException("Vault answered without wrap_info token/wrapped_accessor", null);
            }
            return new Issued(Form.WRAPPED_TOKEN, wrapToken, accessor, properties.wrapTtl(), request.ttl(),
                    issuedAt.plus(request.ttl()), request.numUses(), request.policies());
        }
        JsonNode auth = response.path("auth");
        String token = auth.path("client_token").asString(null);
        String accessor = auth.path("accessor").asString(null);
        if (token == null || accessor == null) {
            throw new CredentialUnavailableException("Vault answered without auth.client_token/accessor", null);
        }
        long leaseSeconds = auth.path("lease_duration").asLong(request.ttl().toSeconds());
        return new Issued(Form.TOKEN, token, accessor, null, Duration.ofSeconds(leaseSeconds),
                issuedAt.plusSeconds(leaseSeconds), request.numUses(), request.policies());
    }

    /** The tenant's token role ({@code pdp.vault.token-role} with {@code {tenant}} filled in). */
    private String createPath(String tenant) {
        String role = properties.tokenRole().replace("{tenant}", tenant);
        return role.isBlank() ? "auth/token/create" : "auth/token/create/" + role;
    }

    private Issued issueDynamic(Request request, CredentialProfile profile, Clock clock) throws CredentialUnavailableException {
        String path = request.policies().getFirst();
        JsonNode secret = send("GET", path, null, false);
        String leaseId = secret.path("lease_id").asString(null);
        JsonNode data = secret.path("data");
        if (leaseId == null || leaseId.isBlank() || !data.isObject()) {
            throw new CredentialUnavailableException("Vault answered " + path + " without a lease or data", null);
        }
        try {
            long ttl = request.ttl().toSeconds();
            long leaseSeconds = secret.path("lease_duration").asLong(-1);
            if (leaseSeconds != ttl) {
                // The engine's role has its own default TTL: the lease (and the login's VALID UNTIL) gets the decided one.
                JsonNode renewed = send("PUT", "sys/leases/renew", Map.of("lease_id", leaseId, "increment", ttl), false);
                leaseSeconds = renewed.path("lease_duration").asLong(-1);
                if (leaseSeconds < 1 || leaseSeconds > ttl) {
                    throw new CredentialUnavailableException("Vault set the lease to " + leaseSeconds + "s, not " + ttl + "s", null);
                }
            }
            Instant expiresAt = clock.instant().truncatedTo(ChronoUnit.MICROS).plusSeconds(leaseSeconds);
            Map<String, Object> wrapped = new LinkedHashMap<>();
            data.properties().forEach(field -> wrapped.put(field.getKey(), field.getValue()));
            wrapped.put("ttl_seconds", leaseSeconds);
            wrapped.put("expires_at", expiresAt.toString());
            JsonNode wrapInfo = send("POST", "sys/wrapping/wrap", wrapped, true).path("wrap_info");
            String wrapToken = wrapInfo.path("token").asString(null);
            if (wrapToken == null) {
                throw new CredentialUnavailableException("Vault answered sys/wrapping/wrap without wrap_info.token", null);
            }
            return new Issued(Form.WRAPPED_SECRET, wrapToken, leaseId, properties.wrapTtl(), Duration.ofSeconds(leaseSeconds),
                    expiresAt, 0, request.policies());
        } catch (CredentialUnavailableException | RuntimeException e) {
            // Read but not handed over: the login must not outlive this failure.
            try {
                revoke(leaseId);
            } catch (CredentialUnavailableException revokeFailed) {
                e.addSuppressed(revokeFailed);
            }
            throw e instanceof CredentialUnavailableException c ? c
                    : new CredentialUnavailableException("dynamic secret " + path + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Revokes a minted credential by its handle: a dynamic secret's lease id ({@code <mount>/creds/<role>/<id>},
     * always with a '/') or a token's accessor (never with one). The secret itself is never kept.
     */
    public void revoke(String handle) throws CredentialUnavailableException {
        boolean lease = handle.indexOf('/') >= 0;
        String path = lease ? "sys/leases/revoke" : "auth/token/revoke-accessor";
        try {
            VaultSession.Answer response = sendWithRelogin("PUT", path, lease ? Map.of("lease_id", handle) : Map.of("accessor", handle), false);
            // 400 "invalid accessor" / "invalid lease": it no longer exists (expired or used up), which is what
            // revocation wants.
            if (response.status() == 400 && (errors(response).contains("invalid accessor") || errors(response).contains("invalid lease"))) {
                return;
            }
            if (response.status() / 100 != 2) {
                throw new CredentialUnavailableException("Vault answered HTTP " + response.status()
                        + " on " + path + errors(response), null);
            }
        } catch (VaultException | IOException | RuntimeException e) {
            throw new CredentialUnavailableException("Vault " + path + " failed: " + e.getMessage(), e);
        }
    }

    /** One handle's revocation: {@code error} is null when it is revoked (or no longer exists). */
    public record Revocation(String handle, String error) {
        public boolean revoked() {
            return error == null;
        }
    }

    /**
     * Revokes many credentials, at most {@code pdp.vault.revocation-concurrency} at a time (Vault has no batch
     * call for accessors or leases); the answer is in the order of {@code handles}.
     */
    public List<Revocation> revokeAll(List<String> handles) {
        if (handles.isEmpty()) {
            return List.of();
        }
        java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(properties.revocationConcurrency());
        try (var executor = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<Revocation>> futures = new java.util.ArrayList<>(handles.size());
            for (String handle : handles) {
                futures.add(executor.submit(() -> {
                    slots.acquire();
                    try {
                        revoke(handle);
                        return new Revocation(handle, null);
                    } catch (CredentialUnavailableException e) {
                        return new Revocation(handle, e.getMessage() == null ? "revocation failed" : e.getMessage());
                    } finally {
                        slots.release();
                    }
                }));
            }
            List<Revocation> results = new java.util.ArrayList<>(handles.size());
            for (int i = 0; i < handles.size(); i++) {
                try {
                    results.add(futures.get(i).get());
                } catch (java.util.concurrent.ExecutionException e) {
                    results.add(new Revocation(handles.get(i), String.valueOf(e.getCause())));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    results.add(new Revocation(handles.get(i), "interrupted"));
                }
            }
            return results;
        }
    }

    private JsonNode post(String path, Map<String, Object> body, boolean wrap) throws CredentialUnavailableException {
        return send("POST", path, body, wrap);
    }

    private JsonNode send(String method, String path, Map<String, Object> body, boolean wrap) throws CredentialUnavailableException {
        try {
            VaultSession.Answer response = sendWithRelogin(method, path, body, wrap);
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
    private VaultSession.Answer sendWithRelogin(String method, String path, Map<String, Object> body, boolean wrap)
            throws VaultException, IOException {
        byte[] bytes = body == null ? null : json.writeValueAsBytes(body);
        Duration wrapTtl = wrap ? properties.wrapTtl() : null;
        VaultSession.Answer response = session.call(method, path, bytes, wrapTtl);
        if (response.status() == 403) {
            session.invalidate();
            response = session.call(method, path, bytes, wrapTtl);
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
