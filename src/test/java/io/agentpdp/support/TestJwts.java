package io.agentpdp.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.RSAPrivateKey;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.UUID;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

/**
 * Tests mint their own bearer tokens: one RSA key pair per JVM, its public key written to a PEM file
 * that the PDP is configured with (spring.security.oauth2.resourceserver.jwt.public-key-location).
 */
public final class TestJwts {

    public static final String AUDIENCE = "agent-pdp";
    /** The {@code iss} of every test token, and the issuer the PDP is configured to accept (pdp.security.issuer). */
    public static final String ISSUER = "https://idp.test/realms/agents";

    /**
     * The subjects of the {@code decide} tokens the tests use: {@code IntegrationTest#registerAgent} binds every
     * agent it registers to each of them (the registry's enforcement points, issue 14).
     */
    public static final java.util.List<String> GATEWAYS = java.util.List.of("gw", "gw-1", "gw-2", "gw-3", "gw-demo",
            "gw-flood", "gw-other", "demo-gateway");

    private static final KeyPair KEYS = generate();
    private static final KeyPair OTHER_KEYS = generate();
    private static final Path PUBLIC_KEY = writePublicKey();

    private TestJwts() {
    }

    public static String publicKeyLocation() {
        return "file:" + PUBLIC_KEY;
    }

    /** A valid token for {@code subject} in {@code tenant} with the given scopes. */
    public static String token(String subject, String tenant, String... scopes) {
        return sign(KEYS, subject, tenant, null, Instant.now().plusSeconds(300), scopes);
    }

    public static String expiredToken(String subject, String tenant, String... scopes) {
        return sign(KEYS, subject, tenant, null, Instant.now().minusSeconds(600), scopes);
    }

    /** A trusted token valid from {@code notBefore} until {@code expiry}; a null instant leaves its claim out. */
    public static String tokenValid(String subject, String tenant, Instant notBefore, Instant expiry, String... scopes) {
        return sign(KEYS, subject, tenant, notBefore, expiry, scopes);
    }

    /** A trusted token whose claims {@code adjust} changes last (another issuer, a malformed tenant claim...). */
    public static String tokenWith(java.util.function.Consumer<JWTClaimsSet.Builder> adjust, String subject, String tenant,
                                   String... scopes) {
        return sign(KEYS, null, claims(subject, tenant, null, Instant.now().plusSeconds(300), scopes, adjust));
    }

    /** A token signed with {@code key}, whose key id goes in the header. */
    public static String signedWith(com.nimbusds.jose.jwk.RSAKey key, String subject, String tenant, String... scopes) {
        return signedWith(key, claims -> { }, subject, tenant, scopes);
    }

    /** A token signed with {@code key} (its key id in the header), whose claims {@code adjust} changes last. */
    public static String signedWith(com.nimbusds.jose.jwk.RSAKey key, java.util.function.Consumer<JWTClaimsSet.Builder> adjust,
                                    String subject, String tenant, String... scopes) {
        try {
            return sign(key.toKeyPair(), key.getKeyID(), claims(subject, tenant, null, Instant.now().plusSeconds(300), scopes, adjust));
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Signed by a key the PDP does not trust. */
    public static String foreignToken(String subject, String tenant, String... scopes) {
        return sign(OTHER_KEYS, subject, tenant, null, Instant.now().plusSeconds(300), scopes);
    }

    private static String sign(KeyPair keys, String subject, String tenant, Instant notBefore, Instant expiry,
                               String... scopes) {
        return sign(keys, null, claims(subject, tenant, notBefore, expiry, scopes, claims -> { }));
    }

    private static JWTClaimsSet claims(String subject, String tenant, Instant notBefore, Instant expiry, String[] scopes,
                                       java.util.function.Consumer<JWTClaimsSet.Builder> adjust) {
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .subject(subject)
                .audience(AUDIENCE)
                .jwtID(UUID.randomUUID().toString())
                .issueTime(Date.from(issuedAt(expiry)))
                .claim("scope", String.join(" ", scopes));
        if (notBefore != null) {
            claims.notBeforeTime(Date.from(notBefore));
        }
        if (expiry != null) {
            claims.expirationTime(Date.from(expiry));
        }
        if (tenant != null) {
            claims.claim("tenant_id", tenant);
        }
        adjust.accept(claims);
        return claims.build();
    }

    private static String sign(KeyPair keys, String keyId, JWTClaimsSet claims) {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(keyId).build(), claims);
        try {
            jwt.sign(new RSASSASigner((RSAPrivateKey) keys.getPrivate()));
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
        return jwt.serialize();
    }

    /** A few seconds ago, but before the expiry (a token cannot expire before it was issued). */
    private static Instant issuedAt(Instant expiry) {
        Instant recently = Instant.now().minusSeconds(5);
        return expiry == null || recently.isBefore(expiry) ? recently : expiry.minusSeconds(300);
    }

    private static KeyPair generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return generator.generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path writePublicKey() {
        try {
            Path file = Files.createTempFile("pdp-test-jwt", ".pem");
            file.toFile().deleteOnExit();
            String pem = "-----BEGIN PUBLIC KEY-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(KEYS.getPublic().getEncoded())
                    + "\n-----END PUBLIC KEY-----\n";
            Files.writeString(file, pem);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
