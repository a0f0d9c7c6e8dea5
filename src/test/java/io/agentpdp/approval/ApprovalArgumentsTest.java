package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.agentpdp.security.Principal;
import io.agentpdp.security.Principals;
import io.agentpdp.web.Problems;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@link Approvals#checkArguments} with a registry that knows the tool's argument schema (a plain fake of the
 * {@link Approvals.Directory} the registry implements): arguments are checked before policy, the schema version
 * is what the approval binds, and approvers get the redacted arguments.
 */
class ApprovalArgumentsTest {

    private static final JsonMapper JSON = JsonMapper.builder().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();
    private static final JsonNode SCHEMA = JSON.readTree("""
            {"type": "object", "required": ["amount"], "additionalProperties": false,
             "properties": {"amount": {"type": "number", "maximum": 1000},
                            "iban": {"type": "string", "x-sensitive": true}}}""");

    private final Approvals.Directory registry = new Approvals.Directory() {
        @Override
        public Optional<Approvals.ToolFacts> tool(String tenant, String tool) {
            return "payments.transfer".equals(tool) ? Optional.of(new Approvals.ToolFacts("7", SCHEMA)) : Optional.empty();
        }

        @Override
        public Principal agentOwner(String tenant, String agentId, String storedOwner) {
            return null;
        }
    };

    private final Approvals approvals = new Approvals(null, null, null, null, JSON, registry,
            new Principals("https://idp.test", Set.of()), null);

    @Test
    void argumentsValidUnderTheToolsSchemaAreBoundToItsVersionAndShownRedacted() {
        Approvals.CheckedArguments checked = approvals.checkArguments("t1", "payments.transfer",
                JSON.readTree("{\"amount\": 10, \"iban\": \"DE89370400440532013000\"}"));
        assertThat(checked.toolSchemaVersion()).isEqualTo("7");
        assertThat(checked.shown().path("iban").asString()).isEqualTo(ArgumentSchemas.REDACTED);
        assertThat(checked.shown().path("amount").asInt()).isEqualTo(10);
    }

    @Test
    void argumentsOutsideTheToolsSchemaAreRefusedWith400BeforePolicy() {
        assertThatThrownBy(() -> approvals.checkArguments("t1", "payments.transfer", JSON.readTree("{\"amount\": 10000}")))
                .isInstanceOfSatisfying(Problems.ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.getMessage()).contains("payments.transfer", "version 7", "amount");
                });
        assertThatThrownBy(() -> approvals.checkArguments("t1", "payments.transfer", null))
                .isInstanceOf(Problems.ApiException.class);
        assertThatThrownBy(() -> approvals.checkArguments("t1", "payments.transfer",
                JSON.readTree("{\"amount\": 10, \"memo\": \"smuggled\"}"))).isInstanceOf(Problems.ApiException.class);
    }

    @Test
    void aCallWithoutArgumentsIsCheckedAsAnEmptyObject() {
        Approvals.Directory optional = new Approvals.Directory() {
            @Override
            public Optional<Approvals.ToolFacts> tool(String tenant, String tool) {
                return Optional.of(new Approvals.ToolFacts("1", JSON.readTree("{\"type\": \"object\"}")));
            }

            @Override
            public Principal agentOwner(String tenant, String agentId, String storedOwner) {
                return null;
            }
        };
        Approvals lenient = new Approvals(null, null, null, null, JSON, optional, new Principals("https://idp.test", Set.of()), null);
        assertThat(lenient.checkArguments("t1", "crm.contacts.read", null).toolSchemaVersion()).isEqualTo("1");
        // ... while the required fields of a schema still apply.
        assertThatThrownBy(() -> approvals.checkArguments("t1", "payments.transfer", null))
                .isInstanceOf(Problems.ApiException.class);
    }

    @Test
    void aToolWithoutSchemaTakesAnyExactArguments() {
        Approvals.CheckedArguments checked = approvals.checkArguments("t1", "crm.contacts.delete", JSON.readTree("{\"x\": 1}"));
        assertThat(checked.toolSchemaVersion()).isNull();
        assertThat(checked.shown().path("x").asInt()).isEqualTo(1);
        assertThatThrownBy(() -> approvals.checkArguments("t1", "crm.contacts.delete",
                JSON.readTree("{\"x\": 9007199254740993}"))).isInstanceOf(Problems.ApiException.class);
    }
}
