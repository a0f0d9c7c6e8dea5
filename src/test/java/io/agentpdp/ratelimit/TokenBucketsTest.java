package io.agentpdp.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class TokenBucketsTest {

    private static final TokenBuckets.Rate CALLER = new TokenBuckets.Rate(1, 2);
    private static final TokenBuckets.Rate TENANT = new TokenBuckets.Rate(10, 3);

    private final AtomicLong clock = new AtomicLong();
    private final TokenBuckets buckets = new TokenBuckets(1000, clock::get);

    @Test
    void aRefusalNamesTheEmptyBucketAndWhenToRetry() {
        assertThat(buckets.tryAcquire("alice", CALLER, "acme", TENANT).granted()).isTrue();
        assertThat(buckets.tryAcquire("alice", CALLER, "acme", TENANT).granted()).isTrue();
        TokenBuckets.Acquisition refused = buckets.tryAcquire("alice", CALLER, "acme", TENANT);
        assertThat(refused.granted()).isFalse();
        assertThat(refused.limitedBy()).isZero();
        assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(1));
        assertThat(refused.retryAfterSeconds()).isEqualTo(1);

        clock.addAndGet(500_000_000L);
        assertThat(buckets.tryAcquire("alice", CALLER, "acme", TENANT).retryAfter()).isEqualTo(Duration.ofMillis(500));
        clock.addAndGet(500_000_000L);
        assertThat(buckets.tryAcquire("alice", CALLER, "acme", TENANT).granted()).isTrue();
    }

    @Test
    void theSecondBucketLimitsEveryKeySharingIt() {
        assertThat(buckets.tryAcquire("alice", CALLER, "acme", TENANT).granted()).isTrue();
        assertThat(buckets.tryAcquire("bob", CALLER, "acme", TENANT).granted()).isTrue();
        assertThat(buckets.tryAcquire("carol", CALLER, "acme", TENANT).granted()).isTrue();
        TokenBuckets.Acquisition refused = buckets.tryAcquire("dave", CALLER, "acme", TENANT);
        assertThat(refused.granted()).isFalse();
        assertThat(refused.limitedBy()).isEqualTo(1);
        assertThat(refused.retryAfter()).isEqualTo(Duration.ofMillis(100));
        // Another tenant has its own bucket.
        assertThat(buckets.tryAcquire("dave", CALLER, "globex", TENANT).granted()).isTrue();
    }

    @Test
    void aRefusedAttemptTakesNoTokenFromTheOtherBucket() {
        buckets.tryAcquire("alice", CALLER, "acme", TENANT);
        buckets.tryAcquire("alice", CALLER, "acme", TENANT);
        for (int i = 0; i < 10; i++) {
            assertThat(buckets.tryAcquire("alice", CALLER, "acme", TENANT).granted()).isFalse();
        }
        // The tenant still has the one token alice could not spend.
        assertThat(buckets.tryAcquire("bob", CALLER, "acme", TENANT).granted()).isTrue();
        assertThat(buckets.tryAcquire("carol", CALLER, "acme", TENANT).granted()).isFalse();
    }

    @Test
    void aForgottenKeyStartsWithAFullBucket() {
        TokenBuckets small = new TokenBuckets(2, clock::get);
        small.tryAcquire("alice", CALLER, "acme", TENANT);
        small.tryAcquire("alice", CALLER, "acme", TENANT);
        assertThat(small.tryAcquire("alice", CALLER, "acme", TENANT).granted()).isFalse();
        small.tryAcquire("bob", CALLER, "globex", TENANT);
        small.tryAcquire("carol", CALLER, "initech", TENANT);
        assertThat(small.tryAcquire("alice", CALLER, "acme", TENANT).granted()).isTrue();
    }

    @Test
    void aRateMustBePositive() {
        assertThatThrownBy(() -> new TokenBuckets.Rate(0, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TokenBuckets.Rate(1, 0.5)).isInstanceOf(IllegalArgumentException.class);
    }
}
