package io.agentpdp.approval;

import java.util.concurrent.ConcurrentHashMap;

import org.springframework.stereotype.Component;

import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Caps the long-polls a caller and a tenant may have waiting at once on this replica: a wait over either
 * cap is refused with 429 before it starts (and before it reads anything).
 */
@Component
class WaitSlots {

    private final ApprovalProperties properties;
    private final ConcurrentHashMap<String, Integer> taken = new ConcurrentHashMap<>();
    private final Counter callerRefused;
    private final Counter tenantRefused;

    WaitSlots(ApprovalProperties properties, MeterRegistry meters) {
        this.properties = properties;
        this.callerRefused = refusedCounter(meters, "caller");
        this.tenantRefused = refusedCounter(meters, "tenant");
    }

    private static Counter refusedCounter(MeterRegistry meters, String limit) {
        return Counter.builder("pdp.approval.waits.refused")
                .description("Long-polls refused with 429 because the caller or tenant had too many waiting")
                .tag("limit", limit)
                .register(meters);
    }

    /** One wait's place; closing it frees it. */
    interface Slot extends AutoCloseable {
        @Override
        void close();
    }

    /** Takes a place for one wait of the caller, or throws the 429 problem when the caller or its tenant is at its cap. */
    Slot acquire(Caller caller) {
        String tenant = "t\u0000" + caller.tenant();
        String callerKey = "c\u0000" + caller.tenant() + "\u0000" + caller.principal().id();
        if (!tryTake(callerKey, properties.maxWaitsPerCaller())) {
            callerRefused.increment();
            throw tooMany("this caller", properties.maxWaitsPerCaller());
        }
        if (!tryTake(tenant, properties.maxWaitsPerTenant())) {
            release(callerKey);
            tenantRefused.increment();
            throw tooMany("this tenant", properties.maxWaitsPerTenant());
        }
        return () -> {
            release(callerKey);
            release(tenant);
        };
    }

    private boolean tryTake(String key, int cap) {
        boolean[] took = {false};
        taken.compute(key, (k, count) -> {
            int current = count == null ? 0 : count;
            if (current >= cap) {
                return count;
            }
            took[0] = true;
            return current + 1;
        });
        return took[0];
    }

    private void release(String key) {
        taken.computeIfPresent(key, (k, count) -> count <= 1 ? null : count - 1);
    }

    private static Problems.ApiException tooMany(String whose, int cap) {
        return new Problems.ApiException(429, "Too many requests", "The number of concurrent waits (?wait=) of " + whose
                + " is at its limit of " + cap + "; retry later or read without waiting.");
    }
}
