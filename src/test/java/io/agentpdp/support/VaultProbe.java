package io.agentpdp.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Talks to the real Vault/OpenBao the way an agent or an operator would, to check what the PDP minted. */
public final class VaultProbe {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final HttpClient http = HttpClient.newHttpClient();
    private final String url;

    public VaultProbe(String url) {
        this.url = url;
    }

    public record Reply(int status, JsonNode json) {
    }

    /** Unwraps a response-wrapping token into the token it wraps (as the agent does). */
    public String unwrap(String wrapToken) {
        Reply reply = call("POST", "sys/wrapping/unwrap", wrapToken, "{}");
        if (reply.status() != 200) {
            throw new IllegalStateException("unwrap answered " + reply.status());
        }
        return reply.json().path("auth").path("client_token").asString();
    }

    public Reply lookupSelf(String token) {
        return call("GET", "auth/token/lookup-self", token, null);
    }

    public Reply seal(String rootToken) {
        return call("PUT", "sys/seal", rootToken, "{}");
    }

    public Reply unseal(String key) {
        return call("PUT", "sys/unseal", null, "{\"key\":\"" + key + "\"}");
    }

    public Reply call(String method, String path, String token, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + "/v1/" + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("X-Vault-Token", token);
        }
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = response.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(response.body());
            return new Reply(response.statusCode(), json);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
