package io.agentpdp.quarantine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

/** The trigger rules alone, at the production thresholds (5 DENYs, 120 decisions per minute). */
class QuarantineTriggerTest {

    private final Quarantine quarantine = new Quarantine(null, null, null, new QuarantineProperties(5, Duration.ofMinutes(1),
            120, Duration.ofMinutes(1), true, Duration.ofSeconds(30), 20, Duration.ofMinutes(10), Duration.ofHours(1)), null, null);

    private static final Quarantine.Activity REGISTERED_AND_BUSY = new Quarantine.Activity(true, 1_000, 10_000);

    @Test
    void aDecisionThatIsNotAPolicyVerdictFiresNoTriggerWhateverTheCounts() {
        // A dependency failure, a refusal or the DENY of a quarantined agent: counts far over both thresholds.
        assertThat(quarantine.trigger(REGISTERED_AND_BUSY, new Quarantine.Signal(false, true, true, false, null))).isEmpty();
        assertThat(quarantine.trigger(REGISTERED_AND_BUSY, new Quarantine.Signal(false, true, false, false, null))).isEmpty();
    }

    @Test
    void anUnregisteredAgentIdFiresNoTriggerEvenWhenThePolicyAsks() {
        Quarantine.Activity unregistered = new Quarantine.Activity(false, 1_000, 10_000);
        assertThat(quarantine.trigger(unregistered, new Quarantine.Signal(true, true, true, true, "tool_not_in_manifest"))).isEmpty();
        assertThat(quarantine.trigger(unregistered, new Quarantine.Signal(true, true, true, false, null))).isEmpty();
        assertThat(quarantine.trigger(unregistered, new Quarantine.Signal(true, true, false, false, null))).isEmpty();
    }

    @Test
    void policyVerdictsAboutARegisteredAgentFireAtTheThresholds() {
        assertThat(quarantine.trigger(new Quarantine.Activity(true, 3, 3), new Quarantine.Signal(true, true, true, false, null))).isEmpty();
        assertThat(quarantine.trigger(new Quarantine.Activity(true, 4, 4), new Quarantine.Signal(true, true, true, false, null)))
                .contains("deny_burst");
        assertThat(quarantine.trigger(new Quarantine.Activity(true, 0, 119), new Quarantine.Signal(true, true, false, false, null))).isEmpty();
        assertThat(quarantine.trigger(new Quarantine.Activity(true, 0, 120), new Quarantine.Signal(true, true, false, false, null)))
                .contains("abnormal_rate");
        assertThat(quarantine.trigger(new Quarantine.Activity(true, 0, 0), new Quarantine.Signal(true, true, true, true, "chain_depth_exceeded")))
                .contains("policy:chain_depth_exceeded");
    }

    @Test
    void withoutTheAgentsVerifiedIdentityNothingFiresWhateverThePolicySaysOrTheCounts() {
        // Whoever holds a decide token of the tenant but not the agent's SVID cannot quarantine it.
        assertThat(quarantine.trigger(REGISTERED_AND_BUSY, new Quarantine.Signal(true, false, true, true, "tool_not_in_manifest")))
                .isEmpty();
        assertThat(quarantine.trigger(REGISTERED_AND_BUSY, new Quarantine.Signal(true, false, true, false, null))).isEmpty();
        assertThat(quarantine.trigger(REGISTERED_AND_BUSY, new Quarantine.Signal(true, false, false, false, null))).isEmpty();
        // The same with it fires.
        assertThat(quarantine.trigger(REGISTERED_AND_BUSY, new Quarantine.Signal(true, true, true, true, "tool_not_in_manifest")))
                .contains("policy:tool_not_in_manifest");
    }
}
