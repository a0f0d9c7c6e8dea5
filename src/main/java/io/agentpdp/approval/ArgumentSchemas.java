package io.agentpdp.approval;

import java.util.List;
import java.util.Map;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A tool's argument schema (JSON Schema 2020-12 unless it names another {@code $schema}) as the PDP uses
 * it: validation of a call's arguments before policy (com.networknt:json-schema-validator; no remote
 * {@code $ref} is ever fetched) and redaction of the fields it marks sensitive ({@code "x-sensitive": true}
 * or {@code "writeOnly": true} on a property) wherever the arguments are shown to people.
 */
final class ArgumentSchemas {

    static final String REDACTED = "[redacted]";

    private final SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
            builder -> builder.schemaLoader(loader -> loader.fetchRemoteResources(false)));
    // Compiled schemas by their content: a new schema version is a new key, an old one ages out (Caffeine
    // compiles each key once, without holding other lookups while it does).
    private final Cache<JsonNode, Schema> compiled = Caffeine.newBuilder().maximumSize(1000).build();
    // Registered schemas arrive as text with every decision's context read: parsed once per distinct text.
    private final Cache<String, JsonNode> parsed = Caffeine.newBuilder().maximumSize(1000).build();

    /** The registered schema text as a tree, parsed once (callers only read it). */
    JsonNode parse(String schemaText, JsonMapper json) {
        return parsed.get(schemaText, json::readTree);
    }

    /** What is wrong with {@code arguments} under {@code schema}: one line per violation, empty when valid. */
    List<String> violations(JsonNode schema, JsonNode arguments) {
        Schema compiledSchema = compiled.get(schema, registry::getSchema);
        List<Error> errors = compiledSchema.validate(arguments == null ? JsonNodeFactory.instance.nullNode() : arguments);
        return errors.stream().map(e -> e.getInstanceLocation() + ": " + e.getMessage()).limit(20).toList();
    }

    /** A copy of {@code arguments} with every value the schema marks sensitive replaced by {@link #REDACTED}. */
    static JsonNode redacted(JsonNode schema, JsonNode arguments) {
        if (schema == null || arguments == null) {
            return arguments;
        }
        return redact(schema, arguments.deepCopy());
    }

    private static JsonNode redact(JsonNode schema, JsonNode value) {
        if (schema == null || !schema.isObject()) {
            return value;
        }
        if (schema.path("x-sensitive").asBoolean(false) || schema.path("writeOnly").asBoolean(false)) {
            return JsonNodeFactory.instance.stringNode(REDACTED);
        }
        if (value.isObject()) {
            ObjectNode object = (ObjectNode) value;
            JsonNode properties = schema.path("properties");
            JsonNode additional = schema.path("additionalProperties");
            for (Map.Entry<String, JsonNode> field : List.copyOf(object.properties())) {
                JsonNode fieldSchema = properties.has(field.getKey()) ? properties.get(field.getKey()) : additional;
                object.set(field.getKey(), redact(fieldSchema, field.getValue()));
            }
        } else if (value.isArray()) {
            JsonNode items = schema.path("items");
            for (int i = 0; i < value.size(); i++) {
                ((tools.jackson.databind.node.ArrayNode) value).set(i, redact(items, value.get(i)));
            }
        }
        return value;
    }
}
