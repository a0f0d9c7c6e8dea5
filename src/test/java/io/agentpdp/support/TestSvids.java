package io.agentpdp.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.ECPublicKey;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.svid.jwtsvid.JwtSvid;
import io.spiffe.workloadapi.DefaultJwtSource;
import io.spiffe.workloadapi.JwtSource;
import io.spiffe.workloadapi.JwtSourceOptions;

/**
 * JWT-SVIDs for the tests. Real ones come from the stack's SPIRE agent through the Workload API (java-spiffe),
 * exactly as an agent gets them: this test JVM's uid is registered under the stack's SPIFFE IDs. The negative
 * cases SPIRE cannot produce (a foreign trust domain, a key outside the bundle, expired, too long-lived) are
 * signed here with a key of the test's own; {@link #writeBundle} makes a bundle file that trusts it.
 */
public final class TestSvids {

    private static final TestStack.Spiffe SPIFFE = TestStack.get().spiffe();
    private static final Map<String, JwtSvid> CACHE = new ConcurrentHashMap<>();
    private static JwtSource source;

    /** Every test agent is bound to this SPIFFE ID (IntegrationTest.registerAgent). */
    public static final String WORKLOAD_A = SPIFFE.id("tests/workload-a");
    /** Registered with SPIRE too, but bound to no test agent: "another agent's SVID". */
    public static final String WORKLOAD_B = SPIFFE.id("tests/workload-b");
    /** The demo agent's SPIFFE ID (scripts/demo/registry.yaml binds it to agent-7). */
    public static final String AGENT_7 = SPIFFE.id("agents/agent-7");
    public static final String TRUST_DOMAIN = SPIFFE.trustDomain();
    public static final String AUDIENCE = SPIFFE.audience();

    /** The test's own signing key (P-256), never in SPIRE's bundle. */
    private static final KeyPair OWN_KEY = generate();
    public static final String OWN_KEY_ID = "test-own-key";

    private TestSvids() {
    }

    /** A real JWT-SVID of {@link #WORKLOAD_A} for the PDP's audience, issued by the stack's SPIRE. */
    public static String token() {
        return token(WORKLOAD_A, AUDIENCE);
    }

    /** A real JWT-SVID of {@code spiffeId} (registered in the stack's SPIRE) for {@code audience}. */
    public static String token(String spiffeId, String audience) {
        JwtSvid svid = CACHE.compute(spiffeId + " " + audience, (key, cached) ->
                cached != null && cached.getExpiry().toInstant().isAfter(Instant.now().plusSeconds(60)) ? cached
                        : fetch(spiffeId, audience));
        return svid.getToken();
    }

    private static synchronized JwtSvid fetch(String spiffeId, String audience) {
        try {
            if (source == null) {
                source = DefaultJwtSource.newSource(JwtSourceOptions.builder()
                        .spiffeSocketPath("unix:" + SPIFFE.socket()).initTimeout(java.time.Duration.ofSeconds(30)).build());
            }
            return source.fetchJwtSvid(SpiffeId.parse(spiffeId), audience);
        } catch (Exception e) {
            throw new IllegalStateException("No JWT-SVID for " + spiffeId + " from the SPIRE agent at " + SPIFFE.socket(), e);
        }
    }

    /**
     * A JWT-SVID signed with the test's own key ({@link #OWN_KEY_ID} unless {@code adjust} sets another header):
     * subject {@code spiffeId}, audience {@link #AUDIENCE}, issued now, valid 5 minutes; {@code adjust} changes the
     * claims last.
     */
    public static String selfSigned(String spiffeId, Consumer<JWTClaimsSet.Builder> adjust) {
        return selfSigned(OWN_KEY_ID, spiffeId, adjust);
    }

    public static String selfSigned(String keyId, String spiffeId, Consumer<JWTClaimsSet.Builder> adjust) {
        Instant now = Instant.now();
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().subject(spiffeId).audience(List.of(AUDIENCE))
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(300)));
        adjust.accept(claims);
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(keyId)
                    .type(com.nimbusds.jose.JOSEObjectType.JWT).build(), claims.build());
            jwt.sign(new ECDSASigner(OWN_KEY.getPrivate(), Curve.P_256));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A SPIFFE bundle file (JWKS, {@code use: jwt-svid}) that trusts only the test's own key. */
    public static Path writeBundle() {
        try {
            ECKey key = new ECKey.Builder(Curve.P_256, (ECPublicKey) OWN_KEY.getPublic()).keyID(OWN_KEY_ID)
                    .keyUse(new KeyUse("jwt-svid")).build();
            Path file = Files.createTempFile("test-bundle", ".jwks");
            Files.writeString(file, new JWKSet(key).toString(true));
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The stack's real trust bundle file (spire-server bundle show -format spiffe). */
    public static Path stackBundle() {
        return Path.of(SPIFFE.bundleFile());
    }

    /** The PDP's identity settings for the stack's SPIRE (Workload API). */
    public static Map<String, String> pdpProperties() {
        return Map.of("pdp.identity.trust-domain", TRUST_DOMAIN, "pdp.identity.audience", AUDIENCE,
                "pdp.identity.workload-api-socket", "unix:" + SPIFFE.socket());
    }

    private static KeyPair generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (NoSuchAlgorithmException | java.security.InvalidAlgorithmParameterException e) {
            throw new IllegalStateException(e);
        }
    }
}
