package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ClassificationTest {

    @Test
    void theStricterLevelWins() {
        assertThat(Classification.stricter(Classification.PUBLIC, null)).isEqualTo(Classification.PUBLIC);
        assertThat(Classification.stricter(Classification.PUBLIC, Classification.CONFIDENTIAL)).isEqualTo(Classification.CONFIDENTIAL);
        assertThat(Classification.stricter(Classification.RESTRICTED, Classification.INTERNAL)).isEqualTo(Classification.RESTRICTED);
        assertThat(Classification.stricter(Classification.INTERNAL, Classification.INTERNAL)).isEqualTo(Classification.INTERNAL);
    }

    @Test
    void wireNamesRoundTrip() {
        for (Classification level : Classification.values()) {
            assertThat(Classification.fromWire(level.wire())).isEqualTo(level);
        }
        assertThat(Classification.fromWire(null)).isNull();
    }
}
