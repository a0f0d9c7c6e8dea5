package io.agentpdp.identity;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;

import io.agentpdp.identity.WorkloadIdentities.Reason;
import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.spiffeid.TrustDomain;

/**
 * The JWT-SVID checks alone, with a bundle held in memory (the integration tests use the stack's SPIRE). Each
 * attack on the identity is one case: what a caller who does not hold the agent's SVID could send instead.
 */
class JwtSvidVerifierTest {

    private static final TrustDomain DOMAIN = TrustDomain.parse("agent-pdp.test");
    private static final String AGENT = "spiffe://agent-pdp.test/agents/agent-7";
    private static final KeyPair KEY = ec();
    private static final KeyPair OTHER_KEY = ec();
    private static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");

    private final TrustBundles bundles = domain -> new JwtBundle(DOMAIN, Map.of("k1", KEY.getPublic()));
    /** Every case runs against the verifier as deployed, with its cache of verified tokens. */
    private final JwtSvidVerifier verifier = new JwtSvidVerifier(DOMAIN, "agent-pdp", Duration.ofMinutes(15),
            Duration.ofSeconds(10), bundles, 16);

    @Test
    void aSvidSignedByTheBundlesKeyForThePdpsAudienceVerifies() {
        JwtSvidVerifier.Checked checked = verifier.check(svid(c -> { }), NOW);
        assertThat(checked.failure()).isNull();
        assertThat(checked.spiffeId()).hasToString(AGENT);
    }

    @Test
    void nothingOrNotAJwtIsMissingOrMalformed() {
        assertThat(verifier.check(null, NOW).failure()).isEqualTo(Reason.MISSING);
        assertThat(verifier.check(" ", NOW).failure()).isEqualTo(Reason.MISSING);
        assertThat(verifier.check("x", NOW).failure()).isEqualTo(Reason.MALFORMED);
        assertThat(verifier.check("a.b.c", NOW).failure()).isEqualTo(Reason.MALFORMED);
        assertThat(verifier.check("x".repeat(JwtSvidVerifier.MAX_TOKEN_LENGTH + 1), NOW).failure()).isEqualTo(Reason.MALFORMED);
        assertThat(verifier.check(svid(c -> c.subject("agent-7")), NOW).failure()).isEqualTo(Reason.MALFORMED);
        assertThat(verifier.check(svid(c -> c.issueTime(null)), NOW).failure()).isEqualTo(Reason.MALFORMED);
        assertThat(verifier.check(svid(c -> c.expirationTime(null)), NOW).failure()).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void anUnsignedOrHmacTokenNeverVerifies() throws Exception {
        String none = new PlainJWT(new PlainHeader(), claims(c -> { })).serialize();
        assertThat(verifier.check(none, NOW).failure()).isEqualTo(Reason.MALFORMED);
        SignedJWT hmac = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("k1").build(), claims(c -> { }));
        hmac.sign(new MACSigner("0123456789abcdef0123456789abcdef"));
        assertThat(verifier.check(hmac.serialize(), NOW).failure()).isEqualTo(Reason.UNSUPPORTED_ALGORITHM);
    }

    @Test
    void aTypeOtherThanJwtOrJoseIsRefused() throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("k1")
                .type(new JOSEObjectType("at+jwt")).build(), claims(c -> { }));
        jwt.sign(new ECDSASigner(KEY.getPrivate(), Curve.P_256));
        assertThat(verifier.check(jwt.serialize(), NOW).failure()).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void anotherTrustDomainIsForeignBeforeAnyKeyIsLookedUp() {
        String foreign = svid(c -> c.subject("spiffe://evil.example/agents/agent-7"));
        assertThat(verifier.check(foreign, NOW)).isEqualTo(JwtSvidVerifier.Checked.failed(Reason.FOREIGN_TRUST_DOMAIN));
    }

    @Test
    void aKeyOutsideTheBundleOrAForgedSignatureNeverVerifies() {
        assertThat(verifier.check(sign(OTHER_KEY, "k2", claims(c -> { })), NOW).failure()).isEqualTo(Reason.UNKNOWN_KEY);
        assertThat(verifier.check(sign(OTHER_KEY, null, claims(c -> { })), NOW).failure()).isEqualTo(Reason.UNKNOWN_KEY);
        // The bundle's key id, someone else's key.
        JwtSvidVerifier.Checked forged = verifier.check(sign(OTHER_KEY, "k1", claims(c -> { })), NOW);
        assertThat(forged.failure()).isEqualTo(Reason.BAD_SIGNATURE);
        assertThat(forged.spiffeId()).as("no claim of an unverified token is reported").isNull();
    }

    @Test
    void expiryIsJudgedWithTheConfiguredAllowance() {
        assertThat(verifier.check(svid(c -> c.issueTime(at(-300)).expirationTime(at(-5))), NOW).failure()).isNull();
        JwtSvidVerifier.Checked expired = verifier.check(svid(c -> c.issueTime(at(-300)).expirationTime(at(-11))), NOW);
        assertThat(expired.failure()).isEqualTo(Reason.EXPIRED);
        assertThat(expired.spiffeId()).as("authentic, so operators see whose it was").hasToString(AGENT);
        assertThat(verifier.check(svid(c -> c.issueTime(at(60)).expirationTime(at(300))), NOW).failure())
                .isEqualTo(Reason.NOT_YET_VALID);
        assertThat(verifier.check(svid(c -> c.notBeforeTime(at(60))), NOW).failure()).isEqualTo(Reason.NOT_YET_VALID);
    }

    @Test
    void aLifetimeLongerThanTheMaximumIsRefused() {
        assertThat(verifier.check(svid(c -> c.issueTime(at(-60)).expirationTime(at(14 * 60))), NOW).failure()).isNull();
        assertThat(verifier.check(svid(c -> c.issueTime(at(-60)).expirationTime(at(15 * 60))), NOW).failure())
                .isEqualTo(Reason.LIFETIME_TOO_LONG);
    }

    @Test
    void theAudienceMustNameThePdp() {
        assertThat(verifier.check(svid(c -> c.audience(List.of("other", "agent-pdp"))), NOW).failure()).isNull();
        assertThat(verifier.check(svid(c -> c.audience("other")), NOW).failure()).isEqualTo(Reason.WRONG_AUDIENCE);
        assertThat(verifier.check(svid(c -> c.audience(List.of())), NOW).failure()).isEqualTo(Reason.WRONG_AUDIENCE);
    }

    @Test
    void noBundleIsAFailureNeverASkippedCheck() {
        JwtSvidVerifier unavailable = new JwtSvidVerifier(DOMAIN, "agent-pdp", Duration.ofMinutes(15), Duration.ofSeconds(10),
                domain -> {
                    throw new TrustBundles.UnavailableException("agent down", null);
                }, 16);
        assertThat(unavailable.check(svid(c -> { }), NOW).failure()).isEqualTo(Reason.BUNDLE_UNAVAILABLE);
    }

    /** A verified token is remembered once; its times are judged again at every decision's clock. */
    @Test
    void aRememberedSvidIsJudgedAgainAtEveryDecision() {
        String token = svid(c -> { });
        assertThat(verifier.check(token, NOW).failure()).isNull();
        assertThat(verifier.check(token, NOW).failure()).isNull();
        assertThat(verifier.cached()).isEqualTo(1);
        assertThat(verifier.check(token, NOW.plusSeconds(260)).failure()).isEqualTo(Reason.EXPIRED);
        assertThat(verifier.check(token, NOW.minusSeconds(80)).failure()).isEqualTo(Reason.NOT_YET_VALID);
        assertThat(verifier.check(token, NOW).spiffeId()).hasToString(AGENT);
        // A verified token whose claims fail is remembered too (its signature is what is remembered), and fails again.
        String tooLong = svid(c -> c.expirationTime(at(3600)));
        assertThat(verifier.check(tooLong, NOW).failure()).isEqualTo(Reason.LIFETIME_TOO_LONG);
        assertThat(verifier.check(tooLong, NOW).failure()).isEqualTo(Reason.LIFETIME_TOO_LONG);
        String otherAudience = svid(c -> c.audience("other"));
        assertThat(verifier.check(otherAudience, NOW).failure()).isEqualTo(Reason.WRONG_AUDIENCE);
        assertThat(verifier.check(otherAudience, NOW).failure()).isEqualTo(Reason.WRONG_AUDIENCE);
    }

    /** A token whose signature failed is never remembered: the same forgery is checked, and refused, every time. */
    @Test
    void aForgedSvidIsNeverRemembered() {
        String forged = sign(OTHER_KEY, "k1", claims(c -> { }));
        assertThat(verifier.check(forged, NOW).failure()).isEqualTo(Reason.BAD_SIGNATURE);
        assertThat(verifier.check(forged, NOW).failure()).isEqualTo(Reason.BAD_SIGNATURE);
        assertThat(verifier.check(sign(KEY, "k9", claims(c -> { })), NOW).failure()).isEqualTo(Reason.UNKNOWN_KEY);
        assertThat(verifier.cached()).isZero();
    }

    /**
     * A remembered token is trusted only while the bundle holds the key that verified it under its key id: once the
     * key is removed, replaced under the same id, or the bundle cannot be had, the token fails as it would unremembered.
     */
    @Test
    void aRememberedSvidFailsOnceItsKeyLeavesTheBundle() {
        AtomicReference<JwtBundle> bundle = new AtomicReference<>(new JwtBundle(DOMAIN, Map.of("k1", KEY.getPublic())));
        AtomicReference<Boolean> available = new AtomicReference<>(true);
        JwtSvidVerifier rotating = new JwtSvidVerifier(DOMAIN, "agent-pdp", Duration.ofMinutes(15), Duration.ofSeconds(10),
                domain -> {
                    if (!available.get()) {
                        throw new TrustBundles.UnavailableException("agent down", null);
                    }
                    return bundle.get();
                }, 16);
        String token = svid(c -> { });
        assertThat(rotating.check(token, NOW).failure()).isNull();
        assertThat(rotating.cached()).isEqualTo(1);

        // The same key re-read (a bundle file's refresh makes new key objects): still trusted without a new check.
        bundle.set(new JwtBundle(DOMAIN, Map.of("k1", reRead(KEY.getPublic()), "k2", OTHER_KEY.getPublic())));
        assertThat(rotating.check(token, NOW).failure()).isNull();
        assertThat(rotating.cached()).isEqualTo(1);

        bundle.set(new JwtBundle(DOMAIN, Map.of("k1", OTHER_KEY.getPublic())));
        assertThat(rotating.check(token, NOW).failure()).isEqualTo(Reason.BAD_SIGNATURE);
        assertThat(rotating.cached()).isZero();

        bundle.set(new JwtBundle(DOMAIN, Map.of("k1", KEY.getPublic())));
        assertThat(rotating.check(token, NOW).failure()).isNull();
        bundle.set(new JwtBundle(DOMAIN, Map.of("k2", OTHER_KEY.getPublic())));
        assertThat(rotating.check(token, NOW).failure()).isEqualTo(Reason.UNKNOWN_KEY);

        bundle.set(new JwtBundle(DOMAIN, Map.of("k1", KEY.getPublic())));
        assertThat(rotating.check(token, NOW).failure()).isNull();
        available.set(false);
        assertThat(rotating.check(token, NOW).failure()).isEqualTo(Reason.BUNDLE_UNAVAILABLE);
        assertThat(rotating.check(token, NOW).spiffeId()).isNull();
    }

    @Test
    void theCacheIsBoundedAndCanBeSwitchedOff() {
        JwtSvidVerifier small = new JwtSvidVerifier(DOMAIN, "agent-pdp", Duration.ofMinutes(15), Duration.ofSeconds(10),
                bundles, 2);
        JwtSvidVerifier off = new JwtSvidVerifier(DOMAIN, "agent-pdp", Duration.ofMinutes(15), Duration.ofSeconds(10),
                bundles, 0);
        for (int i = 0; i < 5; i++) {
            String id = "n" + i;
            String token = svid(c -> c.jwtID(id));
            assertThat(small.check(token, NOW).failure()).isNull();
            assertThat(off.check(token, NOW).failure()).isNull();
        }
        assertThat(small.cached()).isLessThanOrEqualTo(2);
        assertThat(off.cached()).isZero();
    }

    @Test
    void theSpiffeIdMustBeOneTheRegistryBindsToTheAgent() {
        WorkloadIdentities identities = new WorkloadIdentities(verifier, Set.of("medium", "high", "critical"));
        String token = svid(c -> { });
        assertThat(identities.verify(token, List.of(AGENT), "high", NOW))
                .isEqualTo(new WorkloadIdentities.Verification(true, true, AGENT, "agent-pdp.test", null));
        assertThat(identities.verify(token, List.of("spiffe://agent-pdp.test/agents/agent-8"), "high", NOW))
                .isEqualTo(new WorkloadIdentities.Verification(true, false, AGENT, "agent-pdp.test", Reason.NOT_BOUND_TO_AGENT));
        assertThat(identities.verify(token, List.of(), "high", NOW).reason()).isEqualTo(Reason.NOT_BOUND_TO_AGENT);
        // Required per tool risk tier; an unregistered tool (no tier) requires it.
        assertThat(identities.verify(null, List.of(AGENT), "low", NOW))
                .isEqualTo(new WorkloadIdentities.Verification(false, false, null, null, Reason.MISSING));
        assertThat(identities.verify(null, List.of(AGENT), null, NOW).required()).isTrue();
    }

    private static String svid(Consumer<JWTClaimsSet.Builder> adjust) {
        return sign(KEY, "k1", claims(adjust));
    }

    private static JWTClaimsSet claims(Consumer<JWTClaimsSet.Builder> adjust) {
        JWTClaimsSet.Builder builder = new JWTClaimsSet.Builder().subject(AGENT).audience("agent-pdp")
                .issueTime(at(-60)).expirationTime(at(240));
        adjust.accept(builder);
        return builder.build();
    }

    /** The decision's time plus {@code seconds}. */
    private static Date at(long seconds) {
        return Date.from(NOW.plusSeconds(seconds));
    }

    private static String sign(KeyPair key, String keyId, JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(keyId).type(JOSEObjectType.JWT)
                    .build(), claims);
            jwt.sign(new ECDSASigner(key.getPrivate(), Curve.P_256));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The same key as a new object, as a bundle read again gives it. */
    private static PublicKey reRead(PublicKey key) {
        try {
            return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(key.getEncoded()));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static KeyPair ec() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
