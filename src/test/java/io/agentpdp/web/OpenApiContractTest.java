package io.agentpdp.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestStack;
import org.yaml.snakeyaml.Yaml;

/**
 * Keeps the code honest to openapi.yaml: the set of operations the controllers serve must equal the
 * set the contract describes (controllers' mappings and servlets registered for /v1/ paths). (Every answer in the integration tests is also validated against the
 * contract by {@link io.agentpdp.support.Api}.)
 */
class OpenApiContractTest extends IntegrationTest {

    @Autowired
    @Qualifier("requestMappingHandlerMapping")
    private RequestMappingHandlerMapping mappings;

    @Autowired
    private java.util.List<ServletRegistrationBean<?>> servlets;

    @Test
    @SuppressWarnings("unchecked")
    void servedOperationsEqualTheContract() throws Exception {
        Map<String, Object> spec = new Yaml().load(Files.readString(TestStack.projectRoot().resolve("openapi.yaml")));
        Set<String> documented = new TreeSet<>();
        Set<String> httpMethods = Set.of("get", "put", "post", "delete", "patch", "head", "options");
        for (Map.Entry<String, Object> path : ((Map<String, Object>) spec.get("paths")).entrySet()) {
            for (String operation : ((Map<String, Object>) path.getValue()).keySet()) {
                if (httpMethods.contains(operation)) {
                    documented.add(operation.toUpperCase(Locale.ROOT) + " " + normalise(path.getKey()));
                }
            }
        }
        Set<String> served = new TreeSet<>();
        for (Map.Entry<RequestMappingInfo, org.springframework.web.method.HandlerMethod> handler
                : mappings.getHandlerMethods().entrySet()) {
            RequestMappingInfo info = handler.getKey();
            if (handler.getValue().getMethod().getName().equals("methodNotAllowed")) {
                continue; // a mapping that only answers 405 (a method the contract does not offer on that path)
            }
            for (String pattern : info.getPatternValues()) {
                if (!pattern.startsWith("/v1/")) {
                    continue;
                }
                info.getMethodsCondition().getMethods().forEach(m -> served.add(m.name() + " " + normalise(pattern)));
            }
        }
        // Servlets of their own (POST /v1/decisions): their registrations name the operations they serve.
        for (ServletRegistrationBean<?> servlet : servlets) {
            for (String pattern : servlet.getUrlMappings()) {
                if (pattern.startsWith("/v1/")) {
                    for (String method : servlet.getInitParameters().getOrDefault("operations", "").split(",")) {
                        served.add(method.strip() + " " + normalise(pattern));
                    }
                }
            }
        }
        assertThat(served).isEqualTo(documented);
    }

    private static String normalise(String path) {
        return path.replaceAll("\\{[^}]+}", "{}");
    }
}
