package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import java.util.UUID;

import jakarta.validation.Validation;
import jakarta.validation.Validator;

import org.hibernate.validator.messageinterpolation.ParameterMessageInterpolator;
import org.junit.jupiter.api.Test;

import io.agentpdp.registry.Registry;

/**
 * The plain check of {@link DecisionRequestValidator} answers "valid" only where Bean Validation finds no
 * violation (never a request Bean Validation would refuse), and it does answer "valid" for ordinary requests.
 */
class DecisionRequestValidatorTest {

    private static final Validator BEAN_VALIDATION = Validation.byDefaultProvider().configure()
            .messageInterpolator(new ParameterMessageInterpolator()).buildValidatorFactory().getValidator();

    private static final List<String> IDS = List.of("a", "agent-7", "Z9._:-x", "t/1@x", "9", "", " a", "a b", "-a", ".a",
            "a\u0000", "é", "a".repeat(128), "a".repeat(129), "a".repeat(200), "a".repeat(201), "a\u00a0", "a\t", "a/b", "a@b");
    private static final List<String> TEXTS = List.of("read contacts", "x", " ", "", "   x ", "\t", "a\nb", "a\u007fb",
            "a\u0085b", "\u00a0", "\u2003", "\u3000x", "a\u2028b", "é", "日本", "\ud83d\ude00", "\ud800", "x".repeat(128),
            "x".repeat(129), "x".repeat(512), "x".repeat(513), "x".repeat(1024), "x".repeat(1025), "\u001f", "a\u0009");
    private static final List<Integer> DEPTHS = java.util.Arrays.asList(null, 0, 1, 1000, 1001, -1);

    @Test
    void neverAcceptsWhatBeanValidationRefuses() {
        Random random = new Random(18);
        int plain = 0;
        for (int i = 0; i < 50_000; i++) {
            DecisionRequest r = request(random);
            boolean valid = BEAN_VALIDATION.validate(r).isEmpty();
            if (DecisionRequestValidator.plainlyValid(r)) {
                plain++;
                assertThat(valid).as("Bean Validation refuses what the plain check accepted: %s", r).isTrue();
            }
        }
        assertThat(plain).as("requests the plain check accepted").isGreaterThan(100);
    }

    @Test
    void anOrdinaryRequestTakesThePlainPath() {
        DecisionRequest r = new DecisionRequest("acme", new DecisionRequest.Agent("agent-7", "eyJ.x.y"),
                new DecisionRequest.Task("task-1", "Look up the customer's address", 0, UUID.randomUUID()),
                "crm.contacts.read", Registry.ActionKind.READ, new DecisionRequest.Target("crm", "contacts/42"),
                Classification.INTERNAL, null, new DecisionRequest.HeldCredential(UUID.randomUUID()), null, null, "k-1");
        assertThat(DecisionRequestValidator.plainlyValid(r)).isTrue();
        assertThat(BEAN_VALIDATION.validate(r)).isEmpty();
    }

    private static DecisionRequest request(Random random) {
        return new DecisionRequest(pick(random, IDS),
                random.nextInt(20) == 0 ? null : new DecisionRequest.Agent(pick(random, IDS),
                        random.nextInt(10) == 0 ? "t".repeat(8192 + random.nextInt(2)) : null),
                random.nextInt(20) == 0 ? null : new DecisionRequest.Task(pick(random, IDS), pick(random, TEXTS),
                        pick(random, DEPTHS), null),
                pick(random, IDS), random.nextInt(20) == 0 ? null : Registry.ActionKind.READ,
                random.nextInt(20) == 0 ? null : new DecisionRequest.Target(pick(random, TEXTS), pick(random, TEXTS)),
                random.nextInt(20) == 0 ? null : Classification.INTERNAL, null,
                random.nextInt(5) == 0 ? new DecisionRequest.HeldCredential(random.nextBoolean() ? null : UUID.randomUUID()) : null,
                null, null, random.nextBoolean() ? null : pick(random, IDS));
    }

    private static <T> T pick(Random random, List<T> values) {
        // Valid-looking values more often, so that many requests pass both checks.
        return random.nextInt(3) == 0 ? values.get(random.nextInt(values.size())) : values.get(random.nextInt(Math.min(5, values.size())));
    }
}
