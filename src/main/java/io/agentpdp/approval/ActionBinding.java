package io.agentpdp.approval;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import com.google.common.hash.Hashing;
import org.erdtman.jcs.JsonCanonicalizer;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What an approval is bound to, as one SHA-256 over the RFC 8785 (JCS) canonical JSON of the action:
 * tenant, agent, task and intent, tool and its schema version, action kind, canonical target,
 * effective classification and the call's arguments. JCS (io.github.erdtman:java-json-canonicalization)
 * sorts keys by UTF-16 code units and writes numbers as ECMAScript does; arguments whose numbers a
 * double cannot hold exactly are refused beforehand ({@link #inexactNumber}), so two different amounts
 * can never share a fingerprint.
 */
final class ActionBinding {

    /** Version of the bound document: a change of its shape must not match fingerprints of the old one. */
    static final int VERSION = 2;

    private ActionBinding() {
    }

    static String fingerprint(JsonMapper json, Approvals.Action a) {
        Map<String, Object> task = new LinkedHashMap<>();
        task.put("id", a.taskId());
        task.put("intent", a.taskIntent());
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("name", a.tool());
        tool.put("schema_version", a.toolSchemaVersion());
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("binding", VERSION);
        document.put("tenant", a.tenant());
        document.put("agent", a.agentId());
        document.put("task", task);
        document.put("tool", tool);
        document.put("action", a.action());
        document.put("target", target(a));
        document.put("classification", a.classification());
        document.put("arguments", a.arguments());
        return sha256(canonical(json.writeValueAsString(document)));
    }

    /** SHA-256 of the canonical target and arguments (shown to approvers as {@code target_hash}). */
    static String targetHash(JsonMapper json, Approvals.Action a) {
        Map<String, Object> document = target(a);
        document.put("arguments", a.arguments());
        return sha256(canonical(json.writeValueAsString(document)));
    }

    private static Map<String, Object> target(Approvals.Action a) {
        Map<String, Object> target = new LinkedHashMap<>();
        target.put("system", a.targetSystem());
        target.put("resource", a.targetResource());
        return target;
    }

    /** The RFC 8785 canonical form of a JSON text. */
    static String canonical(String jsonText) {
        try {
            return new JsonCanonicalizer(jsonText).getEncodedString();
        } catch (IOException e) {
            throw new IllegalArgumentException("not canonicalisable JSON: " + e.getMessage(), e);
        }
    }

    /**
     * The JSON pointer of the first number in {@code node} that an IEEE 754 double (the JCS number model,
     * RFC 7493 I-JSON) does not hold exactly, or null when every number is exact. {@code 9007199254740993}
     * and {@code 0.30000000000000000001} are such numbers: canonicalised, they would collide with a neighbour.
     */
    static String inexactNumber(JsonNode node) {
        return inexactNumber(node, "");
    }

    private static String inexactNumber(JsonNode node, String pointer) {
        if (node == null) {
            return null;
        }
        if (node.isNumber()) {
            BigDecimal exact = node.decimalValue();
            double approximation = exact.doubleValue();
            return Double.isFinite(approximation) && BigDecimal.valueOf(approximation).compareTo(exact) == 0
                    ? null : pointer.isEmpty() ? "/" : pointer;
        }
        if (node.isObject()) {
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                String found = inexactNumber(field.getValue(), pointer + "/" + escape(field.getKey()));
                if (found != null) {
                    return found;
                }
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                String found = inexactNumber(node.get(i), pointer + "/" + i);
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }

    private static String escape(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }

    static String sha256(String value) {
        return Hashing.sha256().hashString(value, StandardCharsets.UTF_8).toString();
    }
}
