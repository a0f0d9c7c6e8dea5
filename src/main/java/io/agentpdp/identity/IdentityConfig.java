package io.agentpdp.identity;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The trust bundle source the configuration names (pdp.identity.bundle-source). */
@Configuration(proxyBeanMethods = false)
class IdentityConfig {

    @Bean
    TrustBundles trustBundles(IdentityProperties properties) {
        return switch (properties.bundleSource()) {
            case FILE -> new FileTrustBundles(properties.bundleFile(), properties.refresh());
            case WORKLOAD_API -> new WorkloadApiTrustBundles(properties.workloadApiSocket(), properties.connectTimeout(),
                    properties.refresh());
        };
    }
}
