package io.agentpdp.identity;

import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.common.hash.Hashing;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

import io.agentpdp.identity.WorkloadIdentities.Reason;
import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.exception.AuthorityNotFoundException;
import io.spiffe.exception.InvalidSpiffeIdException;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;

/**
 * Checks one JWT-SVID (SPIFFE JWT-SVID spec): algorithm, {@code typ}, signature against the configured trust
 * domain's bundle, then expiry, lifetime and audience. The subject's trust domain is compared before any key is
 * looked up, so only the configured domain's keys are ever used; no claim is trusted before the signature is.
 * <p>
 * Not {@code io.spiffe.svid.jwtsvid.JwtSvid.parseAndValidate}: it judges expiry by the local clock without a
 * leeway, has no bound on the lifetime, and accepts a token whose {@code aud} is empty.
 * <p>
 * An agent presents the same SVID for every decision of its lifetime (SPIRE: 5 minutes), and the ES256 signature
 * SPIRE uses by default costs about 0.3 ms of CPU to check, as much as the rest of a DENY. So a token whose signature
 * verified is remembered, keyed by its SHA-256 (the token itself is not kept), with its claims and the key that
 * verified it. A hit is honoured only while the bundle still holds that same key under that key id (a key removed or
 * replaced is re-checked and fails as before), and every time claim, the lifetime and the audience are judged again
 * at each decision's {@code now}. A token that did not verify is never remembered.
 */
final class JwtSvidVerifier {

    /** SPIFFE JWT-SVIDs are signed with RSA, ECDSA or RSA-PSS; HMAC and {@code none} never verify. */
    private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384,
            JWSAlgorithm.RS512, JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512, JWSAlgorithm.PS256,
            JWSAlgorithm.PS384, JWSAlgorithm.PS512);
    private static final Set<JOSEObjectType> TYPES = Set.of(JOSEObjectType.JWT, JOSEObjectType.JOSE);
    /** Longer is not an SVID; it is refused before it is parsed. */
    static final int MAX_TOKEN_LENGTH = 8192;

    private final TrustDomain trustDomain;
    private final String audience;
    private final Duration maxLifetime;
    private final Duration clockSkew;
    private final TrustBundles bundles;
    private final DefaultJWSVerifierFactory verifiers = new DefaultJWSVerifierFactory();
    /** Tokens whose signature verified, by SHA-256; null when switched off. */
    private final Cache<String, Verified> verified;

    /** A token whose signature {@code key} (the bundle's, under {@code keyId}) verified. */
    private record Verified(JWTClaimsSet claims, SpiffeId subject, String keyId, PublicKey key) {
    }

    JwtSvidVerifier(TrustDomain trustDomain, String audience, Duration maxLifetime, Duration clockSkew,
                    TrustBundles bundles, int cacheSize) {
        this.trustDomain = trustDomain;
        this.audience = audience;
        this.maxLifetime = maxLifetime;
        this.clockSkew = clockSkew;
        this.bundles = bundles;
        // Past its lifetime plus the allowance no SVID is valid, so an entry older than that can only fail: it goes.
        // Eviction runs on the callers' threads (no pool of its own).
        this.verified = cacheSize <= 0 ? null : Caffeine.newBuilder().maximumSize(cacheSize)
                .expireAfterWrite(maxLifetime.plus(clockSkew)).executor(Runnable::run).build();
    }

    /** What the token proves. {@code spiffeId} is set only once the signature verified. */
    record Checked(Reason failure, SpiffeId spiffeId) {

        static Checked failed(Reason reason) {
            return new Checked(reason, null);
        }
    }

    Checked check(String token, Instant now) {
        if (token == null || token.isBlank()) {
            return Checked.failed(Reason.MISSING);
        }
        if (token.length() > MAX_TOKEN_LENGTH) {
            return Checked.failed(Reason.MALFORMED);
        }
        String digest = verified == null ? null : sha256(token);
        Verified known = digest == null ? null : verified.getIfPresent(digest);
        if (known != null) {
            Checked stillTrusted = stillTrusted(known, now);
            if (stillTrusted != null) {
                return stillTrusted;
            }
            verified.asMap().remove(digest, known);
        }
        SignedJWT jwt;
        JWTClaimsSet claims;
        try {
            jwt = SignedJWT.parse(token);
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            return Checked.failed(Reason.MALFORMED);
        }
        JWSHeader header = jwt.getHeader();
        if (!ALGORITHMS.contains(header.getAlgorithm())) {
            return Checked.failed(Reason.UNSUPPORTED_ALGORITHM);
        }
        if (header.getType() != null && !TYPES.contains(header.getType())) {
            return Checked.failed(Reason.MALFORMED);
        }
        SpiffeId subject;
        try {
            subject = claims.getSubject() == null ? null : SpiffeId.parse(claims.getSubject());
        } catch (InvalidSpiffeIdException | IllegalArgumentException e) {
            subject = null;
        }
        if (subject == null) {
            return Checked.failed(Reason.MALFORMED);
        }
        if (!subject.memberOf(trustDomain)) {
            return Checked.failed(Reason.FOREIGN_TRUST_DOMAIN);
        }
        if (header.getKeyID() == null || header.getKeyID().isBlank()) {
            return Checked.failed(Reason.UNKNOWN_KEY);
        }
        JwtBundle bundle;
        try {
            bundle = bundles.bundle(trustDomain);
        } catch (TrustBundles.UnavailableException e) {
            return Checked.failed(Reason.BUNDLE_UNAVAILABLE);
        }
        PublicKey key;
        try {
            key = bundle.findJwtAuthority(header.getKeyID());
        } catch (AuthorityNotFoundException e) {
            return Checked.failed(Reason.UNKNOWN_KEY);
        }
        try {
            JWSVerifier verifier = verifiers.createJWSVerifier(header, key);
            if (!jwt.verify(verifier)) {
                return Checked.failed(Reason.BAD_SIGNATURE);
            }
        } catch (JOSEException | IllegalStateException e) {
            return Checked.failed(Reason.BAD_SIGNATURE);
        }
        // From here on the claims are SPIRE's.
        if (digest != null) {
            verified.put(digest, new Verified(claims, subject, header.getKeyID(), key));
        }
        return new Checked(claimsFailure(claims, now), subject);
    }

    /**
     * A remembered token's verdict at {@code now}, if the bundle still holds the key that verified it under the same
     * key id; null (check it again) if not. The bundle's absence fails closed as on the full path.
     */
    private Checked stillTrusted(Verified known, Instant now) {
        PublicKey current;
        try {
            current = bundles.bundle(trustDomain).findJwtAuthority(known.keyId());
        } catch (TrustBundles.UnavailableException e) {
            return Checked.failed(Reason.BUNDLE_UNAVAILABLE);
        } catch (AuthorityNotFoundException e) {
            return null;
        }
        return current.equals(known.key()) ? new Checked(claimsFailure(known.claims(), now), known.subject()) : null;
    }

    /** Remembered tokens (after pending evictions). */
    long cached() {
        if (verified == null) {
            return 0;
        }
        verified.cleanUp();
        return verified.estimatedSize();
    }

    private static String sha256(String token) {
        return Hashing.sha256().hashString(token, StandardCharsets.UTF_8).toString();
    }

    private Reason claimsFailure(JWTClaimsSet claims, Instant now) {
        Date exp = claims.getExpirationTime();
        Date iat = claims.getIssueTime();
        if (exp == null || iat == null) {
            return Reason.MALFORMED;
        }
        if (now.isAfter(exp.toInstant().plus(clockSkew))) {
            return Reason.EXPIRED;
        }
        Date nbf = claims.getNotBeforeTime();
        if (now.isBefore(iat.toInstant().minus(clockSkew)) || nbf != null && now.isBefore(nbf.toInstant().minus(clockSkew))) {
            return Reason.NOT_YET_VALID;
        }
        if (Duration.between(iat.toInstant(), exp.toInstant()).compareTo(maxLifetime) > 0) {
            return Reason.LIFETIME_TOO_LONG;
        }
        List<String> audiences = claims.getAudience();
        if (audiences == null || !audiences.contains(audience)) {
            return Reason.WRONG_AUDIENCE;
        }
        return null;
    }
}
