package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The approval binding's canonical form is RFC 8785 (JCS): the RFC's own test vectors (appendix B numbers,
 * section 3.2.2 and 3.2.3 examples), and what follows for fingerprints: different amounts never collide,
 * spelling and key order never matter, numbers a double cannot hold are refused.
 */
class ActionBindingTest {

    private static final JsonMapper JSON = JsonMapper.builder().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();

    /** RFC 8785 appendix B: IEEE 754 bit patterns and their canonical JSON numbers. */
    @ParameterizedTest
    @CsvSource({
            "0000000000000000, 0",
            "8000000000000000, 0",
            "0000000000000001, 5e-324",
            "8000000000000001, -5e-324",
            "7fefffffffffffff, 1.7976931348623157e+308",
            "ffefffffffffffff, -1.7976931348623157e+308",
            "4340000000000000, 9007199254740992",
            "c340000000000000, -9007199254740992",
            "4430000000000000, 295147905179352830000",
            "44b52d02c7e14af5, 9.999999999999997e+22",
            "44b52d02c7e14af6, 1e+23",
            "44b52d02c7e14af7, 1.0000000000000001e+23",
            "444b1ae4d6e2ef4e, 999999999999999700000",
            "444b1ae4d6e2ef4f, 999999999999999900000",
            "444b1ae4d6e2ef50, 1e+21",
            "3eb0c6f7a0b5ed8c, 9.999999999999997e-7",
            "3eb0c6f7a0b5ed8d, 0.000001",
            "41b3de4355555553, 333333333.3333332",
            "41b3de4355555554, 333333333.33333325",
            "41b3de4355555555, 333333333.3333333",
            "41b3de4355555556, 333333333.3333334",
            "41b3de4355555557, 333333333.33333343",
            "becbf647612f3696, -0.0000033333333333333333",
            "43143ff3c1cb0959, 1424953923781206.2"})
    void numbersAreSerialisedAsRfc8785AppendixBSays(String bits, String expected) {
        double value = Double.longBitsToDouble(Long.parseUnsignedLong(bits, 16));
        assertThat(ActionBinding.canonical("[" + Double.toString(value) + "]")).isEqualTo("[" + expected + "]");
    }

    @Test
    void rfc8785Section322ExampleIsCanonicalisedExactly() {
        String input = """
                {
                  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
                  "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
                  "literals": [null, true, false]
                }""";
        assertThat(ActionBinding.canonical(input)).isEqualTo(
                "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
                        + "\"string\":\"\u20ac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
    }

    @Test
    void rfc8785Section323PropertiesAreSortedByUtf16CodeUnits() {
        String input = """
                {
                  "\\u20ac": "Euro Sign",
                  "\\r": "Carriage Return",
                  "\\ufb33": "Hebrew Letter Dalet With Dagesh",
                  "1": "One",
                  "\\ud83d\\ude00": "Emoji: Grinning Face",
                  "\\u0080": "Control",
                  "\\u00f6": "Latin Small Letter O With Diaeresis"
                }""";
        assertThat(ActionBinding.canonical(input)).isEqualTo("{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\","
                + "\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\","
                + "\"\ud83d\ude00\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}");
    }

    @Test
    void anApprovalForTenIsNotAnApprovalForTenThousand() {
        assertThat(fingerprint("{\"amount\": 10}")).isNotEqualTo(fingerprint("{\"amount\": 10000}"));
        assertThat(fingerprint("{\"amount\": 10}")).isNotEqualTo(fingerprint("{\"amount\": 10.5}"));
        assertThat(fingerprint("{\"amount\": 10}")).isNotEqualTo(fingerprint("{\"amount\": \"10\"}"));
        assertThat(fingerprint("{}")).isNotEqualTo(fingerprint(null));
    }

    @Test
    void keyOrderAndNumberSpellingDoNotChangeTheFingerprint() {
        assertThat(fingerprint("{\"amount\": 4.50, \"to\": {\"iban\": \"DE1\", \"bic\": \"X\"}, \"big\": 1E30}"))
                .isEqualTo(fingerprint("{\"big\": 1e+30, \"to\": {\"bic\": \"X\", \"iban\": \"DE1\"}, \"amount\": 4.5}"));
        assertThat(fingerprint("{\"n\": -0}")).isEqualTo(fingerprint("{\"n\": 0}"));
        assertThat(fingerprint("{\"n\": 2e-3}")).isEqualTo(fingerprint("{\"n\": 0.002}"));
    }

    @Test
    void everyBoundFieldChangesTheFingerprint() {
        JsonNode args = JSON.readTree("{\"amount\": 10}");
        Approvals.Action base = action(args);
        String reference = ActionBinding.fingerprint(JSON, base);
        assertThat(ActionBinding.fingerprint(JSON, new Approvals.Action("t2", "agent-7", "task-1", "pay rent", "payments.transfer",
                "3", "payment", "bank", "accounts/1", "confidential", args))).isNotEqualTo(reference);
        assertThat(ActionBinding.fingerprint(JSON, new Approvals.Action("t1", "agent-7", "task-1", "pay someone else", "payments.transfer",
                "3", "payment", "bank", "accounts/1", "confidential", args))).isNotEqualTo(reference);
        assertThat(ActionBinding.fingerprint(JSON, new Approvals.Action("t1", "agent-7", "task-1", "pay rent", "payments.transfer",
                "4", "payment", "bank", "accounts/1", "confidential", args))).isNotEqualTo(reference);
        assertThat(ActionBinding.fingerprint(JSON, new Approvals.Action("t1", "agent-7", "task-1", "pay rent", "payments.transfer",
                "3", "payment", "bank", "accounts/2", "confidential", args))).isNotEqualTo(reference);
        assertThat(ActionBinding.fingerprint(JSON, new Approvals.Action("t1", "agent-7", "task-1", "pay rent", "payments.transfer",
                "3", "payment", "bank", "accounts/1", "restricted", args))).isNotEqualTo(reference);
        assertThat(ActionBinding.fingerprint(JSON, base)).isEqualTo(reference);
    }

    @Test
    void numbersADoubleCannotHoldAreFoundWithTheirPointer() {
        assertThat(ActionBinding.inexactNumber(JSON.readTree("{\"a\": [1, {\"b/c\": 9007199254740993}]}"))).isEqualTo("/a/1/b~1c");
        assertThat(ActionBinding.inexactNumber(JSON.readTree("{\"x\": 333333333.33333329}"))).isEqualTo("/x");
        assertThat(ActionBinding.inexactNumber(JSON.readTree("{\"x\": 1e400}"))).isEqualTo("/x");
        assertThat(ActionBinding.inexactNumber(JSON.readTree("{\"x\": 1e-400}"))).isEqualTo("/x");
        assertThat(ActionBinding.inexactNumber(JSON.readTree(
                "{\"a\": 0.1, \"b\": 4.50, \"c\": 1e30, \"d\": 9007199254740992, \"e\": -0, \"f\": 0.000001, \"g\": 2e-3}")))
                .isNull();
    }

    @Test
    void malformedJsonIsRefusedByTheCanonicaliser() {
        assertThatThrownBy(() -> ActionBinding.canonical("{\"a\": NaN}")).isInstanceOf(IllegalArgumentException.class);
    }

    private static Approvals.Action action(JsonNode arguments) {
        return new Approvals.Action("t1", "agent-7", "task-1", "pay rent", "payments.transfer", "3", "payment", "bank",
                "accounts/1", "confidential", arguments);
    }

    private static String fingerprint(String arguments) {
        return ActionBinding.fingerprint(JSON, action(arguments == null ? null : JSON.readTree(arguments)));
    }
}
