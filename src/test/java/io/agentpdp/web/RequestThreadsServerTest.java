package io.agentpdp.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.apache.coyote.AbstractProtocol;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.tomcat.TomcatWebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;

import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.RawHttp;

/**
 * The API server runs requests on the pool that reuses the thread that went idle last (decisions and all); the
 * management server keeps Tomcat's own pool, whose threads Tomcat names {@code <endpoint>-exec-N}.
 */
class RequestThreadsServerTest extends IntegrationTest {

    @Autowired
    private WebServerApplicationContext context;

    @LocalManagementPort
    private int managementPort;

    @Test
    void theApiServersRequestsRunOnTheLifoPool() {
        TomcatWebServer server = (TomcatWebServer) context.getWebServer();
        assertThat(server.getTomcat().getConnector().getProtocolHandler().getExecutor()).isInstanceOf(LifoThreadPool.class);
    }

    /**
     * Tomcat names its pool's threads after the endpoint as it was when the pool started, before a random port was
     * bound: {@code http-nio-auto-<name index>-exec-N}. Request threads of the API server never have that name; the
     * management server's (answering here) do.
     */
    @Test
    void theManagementServerKeepsTomcatsPool() {
        assertThat(RawHttp.get(managementPort, "/actuator/health").status()).isEqualTo(200);
        TomcatWebServer api = (TomcatWebServer) context.getWebServer();
        AbstractProtocol<?> apiHandler = (AbstractProtocol<?>) api.getTomcat().getConnector().getProtocolHandler();
        String apiPool = "http-nio-auto-" + apiHandler.getNameIndex() + "-exec-";
        List<String> tomcatPools = Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(name -> name.matches("http-nio-auto-[0-9]+-exec-[0-9]+")).toList();
        assertThat(tomcatPools).as("no Tomcat pool threads on the API server").noneMatch(name -> name.startsWith(apiPool));
        assertThat(tomcatPools).as("Tomcat's pool threads of the management server").isNotEmpty();
    }
}
