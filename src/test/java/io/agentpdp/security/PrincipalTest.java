package io.agentpdp.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;

import org.junit.jupiter.api.Test;

/** Principals compare as issuer and subject in canonical form, case folded only where the issuer is listed. */
class PrincipalTest {

    private static final String FOLDING = "https://idp.example/folding";
    private static final String EXACT = "https://idp.example/exact";
    private final Principals principals = new Principals(FOLDING, Set.of(FOLDING));

    @Test
    void caseVariantsAreOnePrincipalAtACaseInsensitiveIssuer() {
        assertThat(principals.of(FOLDING, "Alice")).isEqualTo(principals.of(FOLDING, "alice"));
        assertThat(principals.of(FOLDING, "GW-DEMO")).isEqualTo(principals.of(FOLDING, "gw-demo"));
        assertThat(principals.of(FOLDING, "Admin1")).isEqualTo(principals.of(FOLDING, "admin1"));
        // Compatibility forms (fullwidth letters) fold too.
        assertThat(principals.of(FOLDING, "\uFF21lice")).isEqualTo(principals.of(FOLDING, "alice"));
        assertThat(principals.of(FOLDING, "Alice").id()).isEqualTo(FOLDING + "|alice");
    }

    @Test
    void caseVariantsStayDistinctAtACaseSensitiveIssuer() {
        assertThat(principals.of(EXACT, "Alice")).isNotEqualTo(principals.of(EXACT, "alice"));
    }

    @Test
    void theSameSubjectAtAnotherIssuerIsAnotherPrincipal() {
        assertThat(principals.of(FOLDING, "alice")).isNotEqualTo(principals.of(EXACT, "alice"));
    }

    @Test
    void composedAndDecomposedFormsAreOnePrincipal() {
        assertThat(principals.of(EXACT, "Ren\u00e9")).isEqualTo(principals.of(EXACT, "Rene\u0301"));
    }

    @Test
    void paddedOrControlCharacterSubjectsAreRefusedNotTrimmed() {
        assertThatThrownBy(() -> principals.of(FOLDING, " alice")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> principals.of(FOLDING, "alice\t")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> principals.of(FOLDING, "al\u0000ice")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> principals.of(FOLDING, "")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> principals.of("iss|x", "alice")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void storedNamesWithoutIssuerAreSubjectsOfThePdpsOwnIssuer() {
        assertThat(principals.stored("Alice")).isEqualTo(principals.of(FOLDING, "alice"));
        assertThat(principals.stored(FOLDING + "|ALICE")).isEqualTo(principals.of(FOLDING, "alice"));
        assertThat(principals.stored(EXACT + "|a|b").subject()).isEqualTo("a|b");
    }
}
