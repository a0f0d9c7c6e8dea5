package io.agentpdp.security;

import java.util.List;
import java.util.Set;

import jakarta.servlet.http.HttpServletRequest;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.boot.security.autoconfigure.actuate.web.servlet.EndpointRequest;
import org.springframework.core.MethodParameter;
import org.springframework.http.HttpMethod;
import org.springframework.security.authentication.AuthenticationServiceException;
import org.springframework.security.config.ObjectPostProcessor;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.observation.SecurityObservationSettings;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.oauth2.server.resource.web.authentication.BearerTokenAuthenticationFilter;
import org.springframework.security.web.firewall.HttpFirewall;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.authentication.AuthenticationFailureHandler;
import org.springframework.web.bind.support.WebDataBinderFactory;
import org.springframework.web.context.request.NativeWebRequest;
import org.springframework.web.method.support.HandlerMethodArgumentResolver;
import org.springframework.web.method.support.ModelAndViewContainer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.agentpdp.web.Problems;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Every endpoint needs a bearer JWT; scopes gate the endpoint families. Tenant scoping of the data
 * itself is done by the features with the {@link Caller} resolved here.
 */
@Configuration(proxyBeanMethods = false)
class SecurityConfig implements WebMvcConfigurer {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfig.class);

    private final SecurityProperties properties;

    SecurityConfig(SecurityProperties properties) {
        this.properties = properties;
    }

    /**
     * Actuator endpoints live on the separate management port (8081), reached only by probes and the
     * metrics scraper (NetworkPolicy); they expose no details and carry no JWT.
     */
    @Bean
    @Order(1)
    SecurityFilterChain managementSecurity(HttpSecurity http) throws Exception {
        http.securityMatcher(EndpointRequest.toAnyEndpoint())
                .authorizeHttpRequests(auth -> auth.anyRequest().permitAll())
                .csrf(csrf -> csrf.disable())
                .sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS));
        return http.build();
    }

    @Bean
    @Order(2)
    SecurityFilterChain apiSecurity(HttpSecurity http, Problems problems, ObjectProvider<Caller.Interceptor> interceptors,
                                    MeterRegistry meters, Principals principals) throws Exception {
        // Unauthenticated requests are answered, counted and never recorded: there is no tenant to attribute them to.
        Counter unauthenticated = Counter.builder("pdp.requests.unauthenticated")
                .description("Requests refused with 401 (missing, invalid or expired bearer token)")
                .register(meters);
        AuthenticationEntryPoint unauthorized = (request, response, exception) -> {
            unauthenticated.increment();
            problems.write(request, response, 401, "Unauthorized", "A valid bearer token is required.");
        };
        // The token could not be checked at all (the issuer's keys cannot be fetched): not the caller's fault.
        AuthenticationFailureHandler authenticationFailed = (request, response, exception) -> {
            if (exception instanceof AuthenticationServiceException) {
                log.warn("Bearer token could not be verified: {}", exception.getMessage());
                response.setHeader("Retry-After", "5");
                problems.write(request, response, 503, "Service unavailable",
                        "The token issuer's signing keys are unavailable; nothing was allowed.");
            } else {
                unauthorized.commence(request, response, exception);
            }
        };
        AccessDeniedHandler forbidden = (request, response, exception) ->
                problems.write(request, response, 403, "Forbidden", "The token does not grant access to this endpoint.");
        http
                .csrf(csrf -> csrf.disable())
                .sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .requestCache(cache -> cache.disable())
                // A bearer-token API: no logout endpoint (POST /logout is refused like any unknown path), no
                // anonymous principal (a request without a token gets the 401 of the entry point all the same),
                // no servlet-API request wrapper (nothing asks the request for its principal; features use Caller).
                // Each was a filter on every decision for nothing.
                .logout(logout -> logout.disable())
                .anonymous(anonymous -> anonymous.disable())
                .servletApi(servletApi -> servletApi.disable())
                .authorizeHttpRequests(auth -> auth
                        .requestMatchers(HttpMethod.POST, "/v1/decisions").hasAuthority(scope(Caller.DECIDE))
                        .requestMatchers(HttpMethod.GET, "/v1/decisions/*")
                        .hasAnyAuthority(scope(Caller.DECIDE), scope(Caller.APPROVER), scope(Caller.SECURITY_ADMIN))
                        // An enforcement point may read (and wait on) one approval; only approvers list and vote.
                        .requestMatchers(HttpMethod.GET, "/v1/approvals/*")
                        .hasAnyAuthority(scope(Caller.APPROVER), scope(Caller.DECIDE))
                        .requestMatchers(HttpMethod.GET, "/v1/approvals").hasAuthority(scope(Caller.APPROVER))
                        .requestMatchers(HttpMethod.POST, "/v1/approvals/*/approve", "/v1/approvals/*/deny")
                        .hasAuthority(scope(Caller.APPROVER))
                        .requestMatchers("/v1/agents/*/quarantine", "/v1/agents/*/quarantine/**")
                        .hasAuthority(scope(Caller.SECURITY_ADMIN))
                        .requestMatchers(HttpMethod.GET, "/v1/audit/verify", "/v1/audit/checkpoints")
                        .hasAuthority(scope(Caller.SECURITY_ADMIN))
                        .requestMatchers(HttpMethod.POST, "/v1/audit/checkpoints").hasAuthority(scope(Caller.SECURITY_ADMIN))
                        // An enforcement point reads its own manifest (its agents and their tools), nothing else.
                        .requestMatchers(HttpMethod.GET, "/v1/registry/enforcement-points/self").hasAuthority(scope(Caller.DECIDE))
                        // The registry: registry-admin writes (and reads what it writes); security-admin reads.
                        .requestMatchers(HttpMethod.GET, "/v1/registry/**")
                        .hasAnyAuthority(scope(Caller.REGISTRY_ADMIN), scope(Caller.SECURITY_ADMIN))
                        .requestMatchers(HttpMethod.POST, "/v1/registry/**").hasAuthority(scope(Caller.REGISTRY_ADMIN))
                        .requestMatchers(HttpMethod.PUT, "/v1/registry/**").hasAuthority(scope(Caller.REGISTRY_ADMIN))
                        .requestMatchers(HttpMethod.DELETE, "/v1/registry/**").hasAuthority(scope(Caller.REGISTRY_ADMIN))
                        .requestMatchers("/error").permitAll()
                        .anyRequest().denyAll())
                .oauth2ResourceServer(oauth -> oauth
                        .bearerTokenResolver(new HeaderBearerTokenResolver())
                        .jwt(jwt -> {})
                        .authenticationEntryPoint(unauthorized)
                        .accessDeniedHandler(forbidden)
                        .withObjectPostProcessor(new ObjectPostProcessor<BearerTokenAuthenticationFilter>() {
                            @Override
                            public <O extends BearerTokenAuthenticationFilter> O postProcess(O filter) {
                                filter.setAuthenticationFailureHandler(authenticationFailed);
                                return filter;
                            }
                        }))
                .exceptionHandling(ex -> ex.authenticationEntryPoint(unauthorized).accessDeniedHandler(forbidden))
                // Known callers only, and before the scope checks so that their refusals pass through it too.
                .addFilterAfter(new CallerFilter(properties.tenantClaim(), interceptors.orderedStream().toList(), principals),
                        BearerTokenAuthenticationFilter.class);
        return http.build();
    }

    /**
     * Requests the firewall rejects (unknown methods, malformed or smuggling URLs) get a problem answer
     * too: 405 for a method HTTP does not define here, 400 otherwise.
     */
    @Bean
    RequestRejectedHandler requestRejectedHandler(Problems problems) {
        Set<String> methods = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE");
        return (request, response, rejected) -> {
            if (methods.contains(request.getMethod())) {
                problems.write(request, response, 400, "Bad request", "The request was rejected: malformed URL or headers.");
            } else {
                response.setHeader("Allow", "GET, POST");
                problems.write(request, response, 405, "Method not allowed", "This API does not support that method.");
            }
        };
    }

    /** The stock strict firewall, its header checks without regular expressions ({@link FastFirewall}). */
    @Bean
    static HttpFirewall httpFirewall() {
        return FastFirewall.create();
    }

    /**
     * No observation per security filter and request: framework overhead (a few % of the PDP's CPU)
     * without a reader; the request itself is still observed (http.server.requests, trace id).
     */
    @Bean
    static SecurityObservationSettings securityObservationSettings() {
        return SecurityObservationSettings.noObservations();
    }

    private static String scope(String name) {
        return "SCOPE_" + name;
    }

    @Override
    public void addArgumentResolvers(List<HandlerMethodArgumentResolver> resolvers) {
        resolvers.add(new CallerResolver());
    }

    /** Resolves {@link Caller} controller parameters: the caller {@link CallerFilter} resolved, or its 403. */
    private static final class CallerResolver implements HandlerMethodArgumentResolver {

        @Override
        public boolean supportsParameter(MethodParameter parameter) {
            return parameter.getParameterType() == Caller.class;
        }

        @Override
        public Caller resolveArgument(MethodParameter parameter, ModelAndViewContainer mavContainer,
                                      NativeWebRequest webRequest, WebDataBinderFactory binderFactory) {
            // Resolved once per request by CallerFilter, on the chain every API request passes.
            return Caller.of(webRequest.getNativeRequest(HttpServletRequest.class));
        }
    }
}
