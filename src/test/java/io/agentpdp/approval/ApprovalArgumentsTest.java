package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;

import org.junit.jupiter.api.Test;

import io.agentpdp.security.Principals;
import io.agentpdp.web.Problems;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@link Approvals#checkArguments} with the tool facts the decision's context read (the registered argument
 * schema and version): arguments are checked before policy, the schema version is what the approval binds, and
 * approvers get the redacted arguments.
 */
class ApprovalArgumentsTest {

    private static final JsonMapper JSON = JsonMapper.builder().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();
    private static final JsonNode SCHEMA = JSON.readTree("""
            {"type": "object", "required": ["amount"], "additionalProperties": false,
             "properties": {"amount": {"type": "number", "maximum": 1000},
                            "iban": {"type": "string", "x-sensitive": true}}}""");

    private static final Approvals.ToolFacts PAYMENT = new Approvals.ToolFacts("7", SCHEMA.toString());

    private final Approvals approvals = new Approvals(null, null, null, null, JSON, null,
            new Principals("https://idp.test", Set.of()), null);

    @Test
    void argumentsValidUnderTheToolsSchemaAreBoundToItsVersionAndShownRedacted() {
        Approvals.CheckedArguments checked = approvals.checkArguments("payments.transfer", PAYMENT,
                JSON.readTree("{\"amount\": 10, \"iban\": \"DE89370400440532013000\"}"));
        assertThat(checked.toolSchemaVersion()).isEqualTo("7");
        assertThat(checked.shown().path("iban").asString()).isEqualTo(ArgumentSchemas.REDACTED);
        assertThat(checked.shown().path("amount").asInt()).isEqualTo(10);
    }

    @Test
    void argumentsOutsideTheToolsSchemaAreRefusedWith400BeforePolicy() {
        assertThatThrownBy(() -> approvals.checkArguments("payments.transfer", PAYMENT, JSON.readTree("{\"amount\": 10000}")))
                .isInstanceOfSatisfying(Problems.ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.getMessage()).contains("payments.transfer", "version 7", "amount");
                });
        assertThatThrownBy(() -> approvals.checkArguments("payments.transfer", PAYMENT, null))
                .isInstanceOf(Problems.ApiException.class);
        assertThatThrownBy(() -> approvals.checkArguments("payments.transfer", PAYMENT,
                JSON.readTree("{\"amount\": 10, \"memo\": \"smuggled\"}"))).isInstanceOf(Problems.ApiException.class);
    }

    @Test
    void aCallWithoutArgumentsIsCheckedAsAnEmptyObject() {
        Approvals.ToolFacts anyObject = new Approvals.ToolFacts("1", "{\"type\": \"object\"}");
        assertThat(approvals.checkArguments("crm.contacts.read", anyObject, null).toolSchemaVersion()).isEqualTo("1");
        // ... while the required fields of a schema still apply.
        assertThatThrownBy(() -> approvals.checkArguments("payments.transfer", PAYMENT, null))
                .isInstanceOf(Problems.ApiException.class);
    }

    @Test
    void aToolWithoutSchemaTakesAnyExactArguments() {
        Approvals.CheckedArguments checked = approvals.checkArguments("crm.contacts.delete", null, JSON.readTree("{\"x\": 1}"));
        assertThat(checked.toolSchemaVersion()).isNull();
        assertThat(checked.shown().path("x").asInt()).isEqualTo(1);
        assertThatThrownBy(() -> approvals.checkArguments("crm.contacts.delete", null,
                JSON.readTree("{\"x\": 9007199254740993}"))).isInstanceOf(Problems.ApiException.class);
    }
}
