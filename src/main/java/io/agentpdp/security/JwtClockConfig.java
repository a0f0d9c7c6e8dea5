package io.agentpdp.security;

import java.time.Clock;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.oauth2.jwt.JwtTimestampValidator;

/**
 * Token expiry is checked against this replica's {@link Clock} with the allowance
 * {@code pdp.security.jwt-clock-skew}. Boot's JWT decoder adds every {@code OAuth2TokenValidator<Jwt>} bean,
 * and a {@link JwtTimestampValidator} among them replaces its default one (60 s, system clock).
 */
@Configuration(proxyBeanMethods = false)
class JwtClockConfig {

    @Bean
    JwtTimestampValidator jwtTimestampValidator(SecurityProperties properties, Clock clock) {
        JwtTimestampValidator validator = new JwtTimestampValidator(properties.jwtClockSkew());
        validator.setClock(clock);
        // A token without exp would never expire: refused.
        validator.setAllowEmptyExpiryClaim(false);
        return validator;
    }
}
