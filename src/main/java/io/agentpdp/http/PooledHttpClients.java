package io.agentpdp.http;

import java.time.Duration;

import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.client5.http.ssl.TlsSocketStrategy;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;

/**
 * Apache HttpClient 5 set up for the PDP's calls to its dependencies on the decision path (OPA, Vault): pooled
 * keep-alive connections, used blocking on the caller's virtual thread (no hand-offs between client threads,
 * which cost the JDK client an eighth of the PDP's CPU per decision), one deadline for connecting, waiting
 * for a pooled connection and each read, no automatic retry (a mint is not idempotent), no redirects,
 * cookies, auth caching or compression.
 */
public final class PooledHttpClients {

    private PooledHttpClients() {
    }

    /**
     * A connection pool of {@code maxConnections}; {@code tls} null keeps HttpClient's default TLS strategy.
     * A connection idle for 2 s is checked before reuse (the other side may have restarted).
     */
    public static PoolingHttpClientConnectionManager pool(int maxConnections, Duration connectTimeout, Duration deadline,
                                                          TlsSocketStrategy tls) {
        PoolingHttpClientConnectionManagerBuilder builder = PoolingHttpClientConnectionManagerBuilder.create()
                .setMaxConnTotal(maxConnections)
                .setMaxConnPerRoute(maxConnections)
                .setDefaultConnectionConfig(ConnectionConfig.custom()
                        .setConnectTimeout(Timeout.of(connectTimeout))
                        .setSocketTimeout(Timeout.of(deadline))
                        .setValidateAfterInactivity(TimeValue.ofSeconds(2))
                        .build());
        if (tls != null) {
            builder.setTlsSocketStrategy(tls);
        }
        return builder.build();
    }

    /** The client over {@code pool}: {@code deadline} for a pooled connection and for the response. */
    public static CloseableHttpClient client(PoolingHttpClientConnectionManager pool, Duration deadline) {
        Timeout timeout = Timeout.of(deadline);
        return HttpClients.custom()
                .setConnectionManager(pool)
                .setDefaultRequestConfig(RequestConfig.custom()
                        .setConnectionRequestTimeout(timeout)
                        .setResponseTimeout(timeout)
                        .build())
                .disableAutomaticRetries()
                .disableRedirectHandling()
                .disableCookieManagement()
                .disableAuthCaching()
                .disableContentCompression()
                .build();
    }
}
