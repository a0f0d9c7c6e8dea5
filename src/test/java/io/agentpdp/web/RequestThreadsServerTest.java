package io.agentpdp.web;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.tomcat.TomcatWebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;

import io.agentpdp.support.IntegrationTest;

/** The API server runs requests on the pool that reuses the thread that went idle last (decisions and all). */
class RequestThreadsServerTest extends IntegrationTest {

    @Autowired
    private WebServerApplicationContext context;

    @Test
    void theApiServersRequestsRunOnTheLifoPool() {
        TomcatWebServer server = (TomcatWebServer) context.getWebServer();
        assertThat(server.getTomcat().getConnector().getProtocolHandler().getExecutor()).isInstanceOf(LifoThreadPool.class);
    }
}
