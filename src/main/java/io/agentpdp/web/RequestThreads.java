package io.agentpdp.web;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.tomcat.ConfigurableTomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The API server's request threads: a pool that hands each request to the thread that went idle last.
 *
 * <p>Tomcat's own pool wakes the thread that has waited longest, so at moderate load every request ran on another
 * of its ~30 threads, and Hikari lends each thread the connection it used last: a decision's two statements went to
 * database sessions that had slept for tens of milliseconds, each about 0.15 ms slower to answer than a busy one
 * (bench/README.md, "Session 17"). Here the most recently idle thread takes the next request
 * ({@link LifoThreadPool}), so a few threads, their connections and their sessions stay busy while the rest sleep.
 * At most {@code server.tomcat.threads.max} threads (200) run requests; more requests wait in arrival order, as they
 * waited in Tomcat's queue. Only the API server: the management server keeps Tomcat's pool.
 */
@Configuration(proxyBeanMethods = false)
class RequestThreads implements DisposableBean {

    /** Idle request threads above what the load needs end after this. */
    private static final Duration KEEP_ALIVE = Duration.ofSeconds(60);

    // Not a bean: an Executor bean would stand in for Boot's applicationTaskExecutor (which backs off when one exists).
    private final LifoThreadPool pool;

    RequestThreads(@Value("${server.tomcat.threads.max:200}") int maxThreads) {
        this.pool = pool(maxThreads, KEEP_ALIVE);
    }

    @Bean
    WebServerFactoryCustomizer<ConfigurableTomcatWebServerFactory> requestThreadsOnTheApiServer() {
        return factory -> factory.addProtocolHandlerCustomizers(handler -> handler.setExecutor(pool));
    }

    /** After the web server stopped (Tomcat shuts down only a pool of its own). */
    @Override
    public void destroy() {
        pool.shutdown();
    }

    /** Daemon threads named like Tomcat's, with the application's class loader as Tomcat's threads have. */
    static LifoThreadPool pool(int maxThreads, Duration keepAlive) {
        ClassLoader loader = RequestThreads.class.getClassLoader();
        AtomicInteger number = new AtomicInteger();
        return new LifoThreadPool(maxThreads, keepAlive, task -> {
            Thread thread = new Thread(task, "http-nio-request-" + number.incrementAndGet());
            thread.setDaemon(true);
            thread.setContextClassLoader(loader);
            return thread;
        });
    }
}
