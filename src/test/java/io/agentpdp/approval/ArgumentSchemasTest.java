package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A tool's argument schema: arguments are validated against it, and what it marks sensitive is never shown. */
class ArgumentSchemasTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final JsonNode SCHEMA = JSON.readTree("""
            {
              "type": "object",
              "required": ["amount", "to"],
              "additionalProperties": false,
              "properties": {
                "amount": {"type": "number", "exclusiveMinimum": 0, "maximum": 100000},
                "currency": {"enum": ["EUR", "USD"]},
                "to": {
                  "type": "object",
                  "properties": {
                    "iban": {"type": "string", "x-sensitive": true},
                    "name": {"type": "string"}
                  }
                },
                "otp": {"type": "string", "writeOnly": true},
                "notes": {"type": "array", "items": {"type": "object", "properties": {"secret": {"x-sensitive": true}}}}
              }
            }""");

    private final ArgumentSchemas schemas = new ArgumentSchemas();

    @Test
    void validArgumentsPass() {
        assertThat(schemas.violations(SCHEMA, JSON.readTree("{\"amount\": 10, \"to\": {\"iban\": \"DE89\"}}"))).isEmpty();
    }

    @Test
    void argumentsOutsideTheSchemaAreReportedOnePerViolation() {
        assertThat(schemas.violations(SCHEMA, JSON.readTree("{\"amount\": -5, \"to\": {}, \"currency\": \"BTC\"}")))
                .hasSize(2).anyMatch(m -> m.contains("amount")).anyMatch(m -> m.contains("currency"));
        assertThat(schemas.violations(SCHEMA, JSON.readTree("{\"amount\": 10}"))).anyMatch(m -> m.contains("to"));
        assertThat(schemas.violations(SCHEMA, JSON.readTree("{\"amount\": 10, \"to\": {}, \"extra\": 1}")))
                .anyMatch(m -> m.contains("extra"));
        assertThat(schemas.violations(SCHEMA, null)).isNotEmpty();
    }

    @Test
    void sensitiveFieldsAreRedactedEverywhereTheSchemaMarksThem() {
        JsonNode arguments = JSON.readTree("""
                {"amount": 10, "to": {"iban": "DE89 3704", "name": "Bob"}, "otp": "123456",
                 "notes": [{"secret": "s1", "text": "hi"}]}""");
        JsonNode shown = ArgumentSchemas.redacted(SCHEMA, arguments);
        assertThat(shown.path("to").path("iban").asString()).isEqualTo(ArgumentSchemas.REDACTED);
        assertThat(shown.path("otp").asString()).isEqualTo(ArgumentSchemas.REDACTED);
        assertThat(shown.path("notes").path(0).path("secret").asString()).isEqualTo(ArgumentSchemas.REDACTED);
        assertThat(shown.path("to").path("name").asString()).isEqualTo("Bob");
        assertThat(shown.path("amount").asInt()).isEqualTo(10);
        assertThat(shown.toString()).doesNotContain("DE89", "123456", "s1");
        // The original, which the fingerprint binds, is untouched.
        assertThat(arguments.path("to").path("iban").asString()).isEqualTo("DE89 3704");
    }
}
