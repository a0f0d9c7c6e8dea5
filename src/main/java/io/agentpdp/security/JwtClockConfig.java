package io.agentpdp.security;

import java.time.Clock;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.oauth2.jwt.JwtClaimNames;
import org.springframework.security.oauth2.jwt.JwtClaimValidator;
import org.springframework.security.oauth2.jwt.JwtTimestampValidator;

/**
 * Token checks beyond signature and audience. Expiry is checked against this replica's {@link Clock} with
 * the allowance {@code pdp.security.jwt-clock-skew}, and a token must name its subject. Boot's JWT decoder
 * adds every {@code OAuth2TokenValidator<Jwt>} bean, and a {@link JwtTimestampValidator} among them
 * replaces its default one (60 s, system clock).
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

    /**
     * Every decision and refusal names its caller by {@code sub}: a token without one is invalid (401),
     * rather than failing later when the audit record cannot be written.
     */
    @Bean
    JwtClaimValidator<String> jwtSubjectValidator() {
        return new JwtClaimValidator<>(JwtClaimNames.SUB, subject -> subject != null && !subject.isBlank());
    }
}
