package io.agentpdp.decision;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Data classification levels, in increasing strictness. */
enum Classification {
    @JsonProperty("public") PUBLIC,
    @JsonProperty("internal") INTERNAL,
    @JsonProperty("confidential") CONFIDENTIAL,
    @JsonProperty("restricted") RESTRICTED;

    String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Classification fromWire(String value) {
        return value == null ? null : valueOf(value.toUpperCase(Locale.ROOT));
    }

    /** The stricter of the declared and the stored level: a caller can never lower a target's classification. */
    static Classification stricter(Classification declared, Classification stored) {
        return stored == null || declared.compareTo(stored) >= 0 ? declared : stored;
    }
}
