package io.agentpdp.registry;

import java.util.Locale;

/** The kinds of registry entries, as the change log names them. */
enum Kind {
    AGENT, TOOL, SYSTEM, ENFORCEMENT_POINT, CLASSIFICATION, CREDENTIAL_PROFILE;

    String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Kind fromWire(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}
