package io.agentpdp.http;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.time.Duration;

import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.CloseableHttpResponse;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.client5.http.ssl.TlsSocketStrategy;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.http.NoHttpResponseException;
import org.apache.hc.core5.http.protocol.HttpContext;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;

/**
 * Apache HttpClient 5 set up for the PDP's calls to its dependencies on the decision path (OPA, Vault): pooled
 * keep-alive connections, used blocking on the caller's thread (no hand-offs between client threads,
 * which cost the JDK client an eighth of the PDP's CPU per decision), one deadline for connecting, waiting
 * for a pooled connection and each read, no automatic retry (a mint is not idempotent), no redirects,
 * cookies, authentication, compression or proxies.
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

    /**
     * The client over {@code pool}: {@code deadline} for a pooled connection and for the response (unless a request
     * carries its own {@link RequestConfig}). HttpClient's minimal client sends the request on a pooled connection
     * and nothing else: no exec chain of retries, redirects, cookies, authentication, compression or proxies, which
     * the PDP uses none of (the chain cost about 4 % of a DENY's CPU, mostly parsing each request's URI again).
     */
    public static CloseableHttpClient client(PoolingHttpClientConnectionManager pool, Duration deadline) {
        Timeout timeout = Timeout.of(deadline);
        return new DeadlineHttpClient(HttpClients.createMinimal(pool), RequestConfig.custom()
                .setConnectionRequestTimeout(timeout)
                .setResponseTimeout(timeout)
                .build());
    }

    /** The minimal client with a default {@link RequestConfig}, which it has no setting for. */
    private static final class DeadlineHttpClient extends CloseableHttpClient {

        private final CloseableHttpClient minimal;
        private final RequestConfig defaults;

        DeadlineHttpClient(CloseableHttpClient minimal, RequestConfig defaults) {
            this.minimal = minimal;
            this.defaults = defaults;
        }

        @Override
        protected CloseableHttpResponse doExecute(HttpHost target, ClassicHttpRequest request, HttpContext context)
                throws IOException {
            HttpClientContext clientContext = HttpClientContext.castOrCreate(context);
            if (clientContext.getRequestConfig() == null) {
                clientContext.setRequestConfig(defaults);
            }
            return minimal.execute(target, request, clientContext);
        }

        @Override
        public void close(CloseMode closeMode) {
            minimal.close(closeMode);
        }

        @Override
        public void close() throws IOException {
            minimal.close();
        }
    }

    /**
     * Whether {@code failure} says that a pooled keep-alive connection was closed or reset by the other side (it
     * restarted, or a proxy on the way did). Then every idle connection in {@code pool} is from before that, and one
     * reused within the pool's unchecked 2 s would fail the next call too: they are all dropped here, so that one
     * failure is the whole cost. A refused connection is not that (no pooled connection was used). Whether the
     * call may be sent again is the caller's rule: a pure read may, a mint may not.
     */
    public static boolean droppedStaleConnections(PoolingHttpClientConnectionManager pool, IOException failure) {
        if (failure instanceof NoHttpResponseException
                || (failure instanceof SocketException && !(failure instanceof ConnectException))) {
            pool.closeIdle(TimeValue.ZERO_MILLISECONDS);
            return true;
        }
        return false;
    }
}
