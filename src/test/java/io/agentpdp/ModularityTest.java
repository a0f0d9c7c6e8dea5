package io.agentpdp;

import org.junit.jupiter.api.Test;
import org.springframework.modulith.core.ApplicationModules;

/** Package-by-feature boundaries: features talk only through each other's public entry types. */
class ModularityTest {

    @Test
    void featureBoundariesHold() {
        ApplicationModules.of(AgentPdpApplication.class).verify();
    }
}
