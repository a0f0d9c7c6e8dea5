package io.agentpdp.credential;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.springframework.stereotype.Component;

import io.github.jopenlibs.vault.VaultException;
import io.github.jopenlibs.vault.rest.RestException;
import io.github.jopenlibs.vault.rest.RestResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Signs and verifies with a key of Vault's transit engine ({@code <mount>/sign/<key>}, {@code <mount>/verify/<key>}),
 * over the PDP's own Vault session. The private key never leaves Vault, so nothing that only reaches the
 * PDP's database can produce a signature. Both calls are batched: one round trip per list.
 */
@Component
public class TransitSigner {

    private final VaultSession session;
    private final JsonMapper json;

    TransitSigner(VaultSession session, JsonMapper json) {
        this.session = session;
        this.json = json;
    }

    /** A transit key: the engine's mount and the key's name. */
    public record Key(String mount, String name) {
    }

    /** Vault's signature string ({@code vault:v<version>:<base64>}) and the key version that made it. */
    public record Signature(String value, int keyVersion) {
    }

    /** Vault could not sign or verify (down, sealed, refused, no such key): nothing can be vouched for. */
    public static final class TransitUnavailableException extends Exception {
        TransitUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Signs each input; the answer is in input order. */
    public List<Signature> sign(Key key, List<byte[]> inputs) throws TransitUnavailableException {
        if (inputs.isEmpty()) {
            return List.of();
        }
        List<Map<String, String>> batch = inputs.stream().map(input -> Map.of("input", base64(input))).toList();
        JsonNode results = batchResults(key, "sign", batch);
        List<Signature> signatures = new ArrayList<>(inputs.size());
        for (JsonNode result : results) {
            String signature = result.path("signature").asString(null);
            if (signature == null || !result.path("error").asString("").isEmpty()) {
                throw new TransitUnavailableException("Vault did not sign with " + key.name() + ": "
                        + result.path("error").asString("no signature"), null);
            }
            signatures.add(new Signature(signature, result.path("key_version").asInt(keyVersion(signature))));
        }
        return signatures;
    }

    /**
     * Whether each signature is the key's signature of its input (in input order). A malformed or foreign
     * signature is {@code false}; only a failure to ask Vault throws.
     */
    public List<Boolean> verify(Key key, List<byte[]> inputs, List<String> signatures) throws TransitUnavailableException {
        if (inputs.size() != signatures.size()) {
            throw new IllegalArgumentException("one signature per input");
        }
        if (inputs.isEmpty()) {
            return List.of();
        }
        List<Map<String, String>> batch = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            batch.add(Map.of("input", base64(inputs.get(i)), "signature", signatures.get(i)));
        }
        List<Boolean> valid = new ArrayList<>(inputs.size());
        for (JsonNode result : batchResults(key, "verify", batch)) {
            valid.add(result.path("valid").asBoolean(false));
        }
        return valid;
    }

    /** The key version a signature string names ({@code vault:v3:...} is 3), or -1 if it names none. */
    public static int keyVersion(String signature) {
        if (signature == null || !signature.startsWith("vault:v")) {
            return -1;
        }
        int end = signature.indexOf(':', "vault:v".length());
        try {
            return end < 0 ? -1 : Integer.parseInt(signature.substring("vault:v".length(), end));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private JsonNode batchResults(Key key, String operation, List<Map<String, String>> batch)
            throws TransitUnavailableException {
        String path = key.mount() + "/" + operation + "/" + key.name();
        try {
            RestResponse response = send(path, batch);
            if (response.getStatus() == 403) {
                // The PDP's own token may have expired: log in again once.
                session.invalidate();
                response = send(path, batch);
            }
            if (response.getStatus() / 100 != 2) {
                throw new TransitUnavailableException("Vault answered HTTP " + response.getStatus() + " on " + path
                        + errors(response), null);
            }
            JsonNode results = json.readTree(response.getBody()).path("data").path("batch_results");
            if (!results.isArray() || results.size() != batch.size()) {
                throw new TransitUnavailableException("Vault answered " + path + " without one result per input", null);
            }
            return results;
        } catch (VaultException | RestException | RuntimeException e) {
            throw new TransitUnavailableException("Vault call " + path + " failed: " + e.getMessage(), e);
        }
    }

    private RestResponse send(String path, List<Map<String, String>> batch) throws VaultException, RestException {
        return session.rest(path)
                .header("X-Vault-Token", session.token())
                .header("Content-Type", "application/json")
                .body(json.writeValueAsBytes(Map.of("batch_input", batch)))
                .post();
    }

    private String errors(RestResponse response) {
        try {
            JsonNode errors = json.readTree(response.getBody()).path("errors");
            return errors.isArray() && !errors.isEmpty() ? ": " + errors : "";
        } catch (RuntimeException e) {
            return "";
        }
    }

    private static String base64(byte[] input) {
        return Base64.getEncoder().encodeToString(input);
    }
}
