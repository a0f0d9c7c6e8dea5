package io.agentpdp.ratelimit;

import java.io.IOException;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpMethod;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;
import org.springframework.stereotype.Component;

import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The rate limit of every API but the decide call, at one edge: once the caller is known (valid token with a
 * tenant) and before the scope checks, so a caller hammering an endpoint it may not use is limited too. Every
 * path is covered, including endpoints added later; only {@code POST /v1/decisions} is limited per tenant and
 * agent in the decision flow instead (the agent is named in its body).
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class ApiRateLimiter implements Caller.Interceptor {

    private static final RequestMatcher DECIDE = PathPatternRequestMatcher.withDefaults().matcher(HttpMethod.POST, "/v1/decisions");

    private final ApiRateLimitProperties properties;
    private final TokenBuckets buckets;
    private final Problems problems;
    private final Counter callerLimited;
    private final Counter tenantLimited;

    ApiRateLimiter(ApiRateLimitProperties properties, Problems problems, MeterRegistry meters) {
        this.properties = properties;
        this.buckets = new TokenBuckets(properties.maxTrackedKeys());
        this.problems = problems;
        this.callerLimited = limitedCounter(meters, "caller");
        this.tenantLimited = limitedCounter(meters, "tenant");
        // Fail at start, not on the first request, on a misconfigured rate.
        properties.callerRate();
        properties.tenantRate();
    }

    private static Counter limitedCounter(MeterRegistry meters, String limit) {
        return Counter.builder("pdp.api.rate_limited")
                .description("API requests (other than POST /v1/decisions) refused with 429 by the per-caller or per-tenant limit")
                .tag("limit", limit)
                .register(meters);
    }

    @Override
    public boolean appliesTo(HttpServletRequest request) {
        return !DECIDE.matches(request);
    }

    @Override
    public void handle(Caller caller, HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        // Keys by the token's own tenant: a caller cannot spend another tenant's allowance; NUL cannot occur in either part.
        TokenBuckets.Acquisition acquisition = buckets.tryAcquire(
                "c\u0000" + caller.tenant() + "\u0000" + caller.subject(), properties.callerRate(),
                "t\u0000" + caller.tenant(), properties.tenantRate());
        if (acquisition.granted()) {
            chain.doFilter(request, response);
            return;
        }
        boolean byCaller = acquisition.limitedBy() == 0;
        (byCaller ? callerLimited : tenantLimited).increment();
        long retryAfter = acquisition.retryAfterSeconds();
        response.setHeader("Retry-After", Long.toString(retryAfter));
        problems.write(request, response, 429, "Too many requests", "The request rate limit of this "
                + (byCaller ? "caller" : "tenant") + " is exceeded; retry in " + retryAfter + " s.");
    }
}
