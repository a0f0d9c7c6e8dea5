package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class RateLimiterTest {

    private final AtomicLong clock = new AtomicLong();
    private final RateLimiter limiter = new RateLimiter(new RateLimitProperties(10, 4, 1, 2, 1000), clock::get);

    @Test
    void anAgentGetsItsBurstThenItsRate() {
        assertThat(limiter.tryAcquire("acme", "a")).isTrue();
        assertThat(limiter.tryAcquire("acme", "a")).isTrue();
        assertThat(limiter.tryAcquire("acme", "a")).isFalse();
        clock.addAndGet(1_000_000_000L);
        assertThat(limiter.tryAcquire("acme", "a")).isTrue();
        assertThat(limiter.tryAcquire("acme", "a")).isFalse();
    }

    @Test
    void aTenantLimitCoversAllItsAgents() {
        assertThat(limiter.tryAcquire("acme", "a")).isTrue();
        assertThat(limiter.tryAcquire("acme", "b")).isTrue();
        assertThat(limiter.tryAcquire("acme", "c")).isTrue();
        assertThat(limiter.tryAcquire("acme", "d")).isTrue();
        assertThat(limiter.tryAcquire("acme", "e")).isFalse();
        // Other tenants are not affected.
        assertThat(limiter.tryAcquire("globex", "a")).isTrue();
    }

    @Test
    void aRefusedRequestSpendsNothing() {
        limiter.tryAcquire("acme", "a");
        limiter.tryAcquire("acme", "a");
        for (int i = 0; i < 10; i++) {
            assertThat(limiter.tryAcquire("acme", "a")).isFalse();
        }
        // The tenant bucket still holds 2 of its 4 tokens.
        assertThat(limiter.tryAcquire("acme", "b")).isTrue();
        assertThat(limiter.tryAcquire("acme", "c")).isTrue();
        assertThat(limiter.tryAcquire("acme", "d")).isFalse();
    }
}
