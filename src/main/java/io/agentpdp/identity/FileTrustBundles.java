package io.agentpdp.identity;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;

import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.spiffeid.TrustDomain;

/**
 * A SPIFFE bundle file (JWKS, as {@code spire-server bundle show -format spiffe} writes it), parsed once per
 * {@code refresh} and cached; a file that cannot be read or parsed is no bundle (never a stale guess).
 */
final class FileTrustBundles implements TrustBundles {

    private final Path file;
    private final LoadingCache<TrustDomain, JwtBundle> cache;

    FileTrustBundles(Path file, Duration refresh) {
        this.file = file;
        this.cache = Caffeine.newBuilder().maximumSize(4).expireAfterWrite(refresh).build(this::load);
    }

    /** The JWT authorities ({@code use: jwt-svid}) of the SPIFFE bundle; its X.509 authorities are skipped. */
    private JwtBundle load(TrustDomain trustDomain) throws Exception {
        java.util.Map<String, java.security.PublicKey> authorities = new java.util.HashMap<>();
        for (com.nimbusds.jose.jwk.JWK key : com.nimbusds.jose.jwk.JWKSet.parse(Files.readString(file)).getKeys()) {
            if (key.getKeyUse() != null && "jwt-svid".equals(key.getKeyUse().getValue()) && key.getKeyID() != null
                    && key instanceof com.nimbusds.jose.jwk.AsymmetricJWK asymmetric) {
                authorities.put(key.getKeyID(), asymmetric.toPublicKey());
            }
        }
        return new JwtBundle(trustDomain, authorities);
    }

    @Override
    public JwtBundle bundle(TrustDomain trustDomain) throws UnavailableException {
        try {
            return cache.get(trustDomain);
        } catch (RuntimeException e) {
            throw new UnavailableException("the SPIFFE bundle file " + file + " could not be read as a JWT bundle of "
                    + trustDomain, e);
        }
    }
}
