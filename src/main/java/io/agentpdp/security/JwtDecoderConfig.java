package io.agentpdp.security;

import java.security.KeyFactory;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.security.oauth2.server.resource.autoconfigure.OAuth2ResourceServerProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtClaimNames;
import org.springframework.security.oauth2.jwt.JwtClaimValidator;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtIssuerValidator;
import org.springframework.security.oauth2.jwt.JwtValidators;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.util.StringUtils;

/**
 * The bearer-token decoder, in place of Boot's, so that the same checks hold whichever way the keys are
 * configured ({@code spring.security.oauth2.resourceserver.jwt.*}, first match wins): keys from a JWKS
 * endpoint ({@code jwk-set-uri}), one RSA public key ({@code public-key-location}), or the JWKS an OIDC
 * issuer publishes ({@code issuer-uri}). In every mode the token must name the configured issuer, carry the
 * configured audience (when one is set), and have a string tenant claim; JWKS keys are cached and
 * refetched within the bounds of {@link JwksKeySource}. Verified tokens are then remembered briefly
 * ({@link CachingJwtDecoder}).
 */
@Configuration(proxyBeanMethods = false)
class JwtDecoderConfig {

    @Bean
    JwtDecoder jwtDecoder(OAuth2ResourceServerProperties resourceServer, SecurityProperties security,
                          ObjectProvider<OAuth2TokenValidator<Jwt>> validatorBeans, Clock clock) throws Exception {
        OAuth2ResourceServerProperties.Jwt jwt = resourceServer.getJwt();
        String issuer = expectedIssuer(jwt, security);
        NimbusJwtDecoder decoder;
        if (StringUtils.hasText(jwt.getJwkSetUri())) {
            decoder = NimbusJwtDecoder.withJwkSource(JwksKeySource.fromJwkSetUri(jwt.getJwkSetUri(),
                            security.jwksCacheTtl(), security.jwksRefreshMinInterval()))
                    .jwsAlgorithms(algorithms -> algorithms.addAll(algorithms(jwt)))
                    .build();
        } else if (jwt.getPublicKeyLocation() != null) {
            decoder = NimbusJwtDecoder.withPublicKey(publicKey(jwt)).signatureAlgorithm(exactlyOneAlgorithm(jwt)).build();
        } else if (StringUtils.hasText(jwt.getIssuerUri())) {
            decoder = NimbusJwtDecoder.withJwkSource(JwksKeySource.fromIssuer(jwt.getIssuerUri(),
                            security.jwksCacheTtl(), security.jwksRefreshMinInterval()))
                    .jwsAlgorithms(algorithms -> algorithms.addAll(algorithms(jwt)))
                    .build();
        } else {
            throw new IllegalStateException("No token signing keys configured: set one of "
                    + "spring.security.oauth2.resourceserver.jwt.jwk-set-uri, .public-key-location or .issuer-uri");
        }
        List<OAuth2TokenValidator<Jwt>> validators = new ArrayList<>(validatorBeans.orderedStream().toList());
        validators.add(new JwtIssuerValidator(issuer));
        List<String> audiences = jwt.getAudiences() == null ? List.of() : jwt.getAudiences();
        if (!audiences.isEmpty()) {
            validators.add(new JwtClaimValidator<List<String>>(JwtClaimNames.AUD,
                    aud -> aud != null && !Collections.disjoint(aud, audiences)));
        }
        // A tenant must be exactly one string: an array or object would otherwise be stringified into a tenant id.
        // (No tenant at all is answered later, with 403, by the endpoint that needs one.)
        validators.add(new JwtClaimValidator<Object>(security.tenantClaim(), tenant -> tenant == null || tenant instanceof String));
        decoder.setJwtValidator(JwtValidators.createDefaultWithValidators(validators));
        return CachingJwtDecoder.around(decoder, security, clock);
    }

    /** Fail closed: without a configured issuer, a token from any issuer trusted with the same keys would pass. */
    static String expectedIssuer(OAuth2ResourceServerProperties.Jwt jwt, SecurityProperties security) {
        String issuerUri = StringUtils.hasText(jwt.getIssuerUri()) ? jwt.getIssuerUri().strip() : null;
        if (security.issuer() == null && issuerUri == null) {
            throw new IllegalStateException("No token issuer configured: set pdp.security.issuer (PDP_SECURITY_ISSUER) "
                    + "or spring.security.oauth2.resourceserver.jwt.issuer-uri to the 'iss' the identity provider puts in "
                    + "its tokens. The PDP accepts tokens from that issuer only.");
        }
        if (security.issuer() != null && issuerUri != null && !security.issuer().equals(issuerUri)) {
            throw new IllegalStateException("pdp.security.issuer (" + security.issuer() + ") and "
                    + "spring.security.oauth2.resourceserver.jwt.issuer-uri (" + issuerUri + ") disagree; set one of them");
        }
        return security.issuer() != null ? security.issuer() : issuerUri;
    }

    private static List<SignatureAlgorithm> algorithms(OAuth2ResourceServerProperties.Jwt jwt) {
        List<SignatureAlgorithm> algorithms = new ArrayList<>();
        for (String name : jwt.getJwsAlgorithms()) {
            SignatureAlgorithm algorithm = SignatureAlgorithm.from(name);
            if (algorithm == null) {
                throw new IllegalStateException("spring.security.oauth2.resourceserver.jwt.jws-algorithms: unknown algorithm " + name);
            }
            algorithms.add(algorithm);
        }
        return algorithms;
    }

    private static SignatureAlgorithm exactlyOneAlgorithm(OAuth2ResourceServerProperties.Jwt jwt) {
        List<SignatureAlgorithm> algorithms = algorithms(jwt);
        if (algorithms.size() != 1) {
            throw new IllegalStateException("With a public-key-location, spring.security.oauth2.resourceserver.jwt.jws-algorithms "
                    + "must name exactly one algorithm, got " + jwt.getJwsAlgorithms());
        }
        return algorithms.getFirst();
    }

    private static RSAPublicKey publicKey(OAuth2ResourceServerProperties.Jwt jwt) throws Exception {
        String pem = jwt.readPublicKey()
                .replace("-----BEGIN PUBLIC KEY-----", "")
                .replace("-----END PUBLIC KEY-----", "");
        return (RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(Base64.getMimeDecoder().decode(pem)));
    }
}
