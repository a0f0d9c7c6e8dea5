package io.agentpdp.identity;

import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.spiffeid.TrustDomain;

/** The JWT signing keys of a trust domain, from wherever the PDP is configured to take them. */
interface TrustBundles {

    /** The current bundle of {@code trustDomain}; throws when it cannot be had now (fail closed). */
    JwtBundle bundle(TrustDomain trustDomain) throws UnavailableException;

    /** No bundle now: SPIRE agent unreachable, file unreadable or not a SPIFFE bundle, or no keys for the domain. */
    final class UnavailableException extends Exception {
        UnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
