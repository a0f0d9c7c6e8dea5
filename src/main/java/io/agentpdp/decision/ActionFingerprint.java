package io.agentpdp.decision;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import tools.jackson.databind.json.JsonMapper;

/**
 * Binds an approval to the exact action it approves: tenant, agent, task, tool, action kind,
 * classification and a hash of the canonicalised target and arguments ({@code context.arguments}).
 * Canonical form: JSON with object keys sorted at every level.
 */
final class ActionFingerprint {

    private ActionFingerprint() {
    }

    static String targetHash(JsonMapper json, DecisionRequest request) {
        Map<String, Object> target = new TreeMap<>();
        target.put("system", request.target().system());
        target.put("resource", request.target().resource());
        target.put("arguments", request.context() == null ? null : canonical(request.context().get("arguments")));
        return sha256(json.writeValueAsString(target));
    }

    static String of(JsonMapper json, DecisionRequest request, Classification effective) {
        return sha256(String.join("\u001f", request.tenant(), request.agent().id(), request.task().id(),
                request.tool(), request.action().wire(), effective.wire(), targetHash(json, request)));
    }

    private static Object canonical(Object value) {
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> sorted = new TreeMap<>();
            map.forEach((k, v) -> sorted.put(String.valueOf(k), canonical(v)));
            return sorted;
        }
        if (value instanceof List<?> list) {
            List<Object> items = new ArrayList<>(list.size());
            list.forEach(item -> items.add(canonical(item)));
            return items;
        }
        return value;
    }

    static String sha256(String value) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
