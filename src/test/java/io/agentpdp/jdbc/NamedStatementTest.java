package io.agentpdp.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NamedStatementTest {

    private static final NamedStatement STATEMENT = NamedStatement.parse("""
            select cast(:id as uuid), x::text, ':not_a_parameter'
            from t where tenant_id = :tenant and (:tenant is not null or y = :other) -- :comment
            """);

    @Test
    void namesBecomePositionsInTheParsersOrderAndARepeatedNameIsBoundEverywhere() {
        assertThat(STATEMENT.sql()).contains("cast(? as uuid)", "x::text", "':not_a_parameter'",
                "tenant_id = ? and (? is not null or y = ?)");
        assertThat(STATEMENT.bind().set("tenant", "acme").set("id", null).set("other", 7).values())
                .containsExactly(null, "acme", "acme", 7);
    }

    @Test
    void anUnknownOrMissingNameIsAProgrammingError() {
        assertThatThrownBy(() -> STATEMENT.bind().set("tenat", "acme")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(":tenat");
        assertThatThrownBy(() -> STATEMENT.bind().set("tenant", "acme").set("id", null).values())
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void eachBindingIsItsOwn() {
        NamedStatement.Binding first = STATEMENT.bind().set("tenant", "a").set("id", null).set("other", 1);
        STATEMENT.bind().set("tenant", "b").set("id", null).set("other", 2).values();
        assertThat(first.values()).containsExactly(null, "a", "a", 1);
    }
}
