package io.agentpdp.ratelimit;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Keyed token buckets, the one rate-limiting primitive of the PDP: a request takes one token from each
 * bucket it is counted against (e.g. its caller's and its tenant's), or none when any is empty. Buckets
 * are per replica and kept for the most recently used keys only (a forgotten key starts with a full
 * bucket again). Thread-safe.
 */
public final class TokenBuckets {

    /** A bucket's refill rate and size; both positive. */
    public record Rate(double perSecond, double burst) {
        public Rate {
            if (!(perSecond > 0) || !(burst >= 1)) {
                throw new IllegalArgumentException("a rate needs perSecond > 0 and burst >= 1, got " + perSecond + "/" + burst);
            }
        }
    }

    /**
     * The outcome of an attempt: granted, or refused with the index of the first empty bucket (in the order
     * given) and how long until every bucket holds a token again.
     */
    public record Acquisition(boolean granted, int limitedBy, Duration retryAfter) {

        static final Acquisition GRANTED = new Acquisition(true, -1, Duration.ZERO);

        /** Whole seconds for a {@code Retry-After} header, at least 1. */
        public long retryAfterSeconds() {
            return Math.max(1, (retryAfter.toMillis() + 999) / 1000);
        }
    }

    private final LongSupplier nanoClock;
    private final Map<String, Bucket> buckets;

    public TokenBuckets(int maxTrackedKeys) {
        this(maxTrackedKeys, System::nanoTime);
    }

    public TokenBuckets(int maxTrackedKeys, LongSupplier nanoClock) {
        if (maxTrackedKeys < 2) {
            throw new IllegalArgumentException("maxTrackedKeys must be at least 2");
        }
        this.nanoClock = nanoClock;
        this.buckets = new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
                return size() > maxTrackedKeys;
            }
        };
    }

    /** Takes one token from both buckets, or (when either is empty) none. */
    public synchronized Acquisition tryAcquire(String firstKey, Rate firstRate, String secondKey, Rate secondRate) {
        long now = nanoClock.getAsLong();
        Bucket first = bucket(firstKey, firstRate, now);
        Bucket second = bucket(secondKey, secondRate, now);
        if (first.tokens >= 1 && second.tokens >= 1) {
            first.tokens--;
            second.tokens--;
            return Acquisition.GRANTED;
        }
        Duration wait = first.untilOneToken(firstRate);
        Duration secondWait = second.untilOneToken(secondRate);
        return new Acquisition(false, first.tokens < 1 ? 0 : 1, wait.compareTo(secondWait) >= 0 ? wait : secondWait);
    }

    private Bucket bucket(String key, Rate rate, long now) {
        Bucket bucket = buckets.computeIfAbsent(key, k -> new Bucket(rate.burst(), now));
        bucket.refill(now, rate);
        return bucket;
    }

    private static final class Bucket {
        double tokens;
        long updated;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.updated = now;
        }

        void refill(long now, Rate rate) {
            tokens = Math.min(rate.burst(), tokens + (now - updated) / 1e9 * rate.perSecond());
            updated = now;
        }

        Duration untilOneToken(Rate rate) {
            return tokens >= 1 ? Duration.ZERO : Duration.ofNanos((long) Math.ceil((1 - tokens) / rate.perSecond() * 1e9));
        }
    }
}
