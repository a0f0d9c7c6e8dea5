package io.agentpdp.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.core5.http.ConnectionRequestTimeoutException;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.util.Timeout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

/**
 * The minimal client keeps the one deadline of the decision path: for the response, and for a pooled connection
 * when every connection is busy (HttpClient's own default for that wait is three minutes). A local HTTP server
 * stands in for a dependency; OPA and OpenBao themselves are in FaultToleranceTest.
 */
class PooledHttpClientsTest {

    private static final Duration DEADLINE = Duration.ofMillis(300);

    private HttpServer server;
    private final CountDownLatch release = new CountDownLatch(1);
    private final ExecutorService callers = Executors.newFixedThreadPool(2);
    private final ExecutorService handlers = Executors.newCachedThreadPool();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/fast", exchange -> {
            byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.createContext("/held", exchange -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.setExecutor(handlers);
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        callers.shutdownNow();
        server.stop(0);
        handlers.shutdownNow();
    }

    private String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    @Test
    void answersOnAPooledConnectionAndReusesIt() throws Exception {
        PoolingHttpClientConnectionManager pool = PooledHttpClients.pool(1, DEADLINE, DEADLINE, null);
        try (CloseableHttpClient client = PooledHttpClients.client(pool, DEADLINE)) {
            for (int i = 0; i < 3; i++) {
                String body = client.execute(new HttpGet(url("/fast")), response -> EntityUtils.toString(response.getEntity()));
                assertThat(body).isEqualTo("ok");
            }
            assertThat(pool.getTotalStats().getAvailable()).isEqualTo(1);
        }
    }

    @Test
    void aResponseSlowerThanTheDeadlineFailsWithinIt() throws Exception {
        PoolingHttpClientConnectionManager pool = PooledHttpClients.pool(1, DEADLINE, Duration.ofSeconds(30), null);
        try (CloseableHttpClient client = PooledHttpClients.client(pool, DEADLINE)) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> client.execute(new HttpGet(url("/held")), response -> response.getCode()))
                    .isInstanceOf(SocketTimeoutException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void waitingForABusyPoolEndsAtTheDeadline() throws Exception {
        PoolingHttpClientConnectionManager pool = PooledHttpClients.pool(1, DEADLINE, Duration.ofSeconds(30), null);
        try (CloseableHttpClient client = PooledHttpClients.client(pool, DEADLINE)) {
            // The one connection is held by a request with a config of its own (30 s for its answer).
            HttpGet held = new HttpGet(url("/held"));
            held.setConfig(RequestConfig.custom().setResponseTimeout(Timeout.ofSeconds(30)).build());
            Future<Integer> holder = callers.submit(() -> client.execute(held, response -> response.getCode()));
            while (pool.getTotalStats().getLeased() == 0) {
                Thread.sleep(10);
            }
            long start = System.nanoTime();
            assertThatThrownBy(() -> client.execute(new HttpGet(url("/fast")), response -> response.getCode()))
                    .isInstanceOf(ConnectionRequestTimeoutException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            release.countDown();
            assertThat(holder.get(10, TimeUnit.SECONDS)).isEqualTo(200);
        }
    }

    @Test
    void aRequestsOwnConfigWins() throws Exception {
        PoolingHttpClientConnectionManager pool = PooledHttpClients.pool(1, DEADLINE, Duration.ofSeconds(30), null);
        try (CloseableHttpClient client = PooledHttpClients.client(pool, Duration.ofSeconds(30))) {
            HttpGet request = new HttpGet(url("/held"));
            request.setConfig(RequestConfig.custom().setResponseTimeout(Timeout.of(DEADLINE)).build());
            long start = System.nanoTime();
            assertThatThrownBy(() -> client.execute(request, response -> response.getCode()))
                    .isInstanceOf(SocketTimeoutException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }
}
