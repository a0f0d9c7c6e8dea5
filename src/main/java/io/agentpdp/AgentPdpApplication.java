package io.agentpdp;

import java.time.Clock;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.context.annotation.Bean;
import org.springframework.scheduling.annotation.EnableScheduling;

@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class AgentPdpApplication {

    public static void main(String[] args) {
        var context = SpringApplication.run(AgentPdpApplication.class, args);
        // Migration-only mode (Helm pre-upgrade Job): Flyway has run during start-up; exit now.
        if (Boolean.parseBoolean(context.getEnvironment().getProperty("pdp.migrate-only", "false"))) {
            System.exit(SpringApplication.exit(context));
        }
    }

    /**
     * This replica's wall clock (JWT expiry, records written without a database read). Injectable so a
     * test can skew a replica; approval expiry and the decision time come from the database's clock.
     */
    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }
}
