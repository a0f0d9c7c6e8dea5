package io.agentpdp.security;

import java.text.Normalizer;
import java.util.Locale;
import java.util.Set;

/**
 * Who someone is, across the PDP: an issuer and a subject in canonical form, compared only as a whole
 * ({@link #id()}), never by raw subject strings. Canonical form (docs/approvals.md, "Principals"): both parts
 * NFC; a part with leading or trailing white space or a control character is refused, not trimmed; for an
 * issuer listed in {@code pdp.security.case-insensitive-issuers} the subject is also NFKC-normalised and
 * case-folded (upper then lower case by {@link Locale#ROOT} rules), so that {@code Alice}, {@code alice} and
 * {@code ＡＬＩＣＥ} are one principal there.
 */
public record Principal(String issuer, String subject) {

    public Principal {
        issuer = part("issuer", issuer);
        subject = part("subject", subject);
    }

    /** The principal id: issuer, '|', subject. */
    public String id() {
        return issuer + "|" + subject;
    }

    /** Parses {@link #id()} back (the subject may contain '|'; an issuer never does, see {@link #of}). */
    public static Principal parse(String id) {
        int bar = id == null ? -1 : id.indexOf('|');
        if (bar <= 0) {
            throw new IllegalArgumentException("not a principal id: " + id);
        }
        return new Principal(id.substring(0, bar), id.substring(bar + 1));
    }

    /** The canonical principal of {@code subject} at {@code issuer}, folding case where the issuer is listed. */
    public static Principal of(String issuer, String subject, Set<String> caseInsensitiveIssuers) {
        String canonicalIssuer = part("issuer", issuer);
        if (canonicalIssuer.indexOf('|') >= 0) {
            throw new IllegalArgumentException("an issuer must not contain '|'");
        }
        String canonicalSubject = part("subject", subject);
        if (caseInsensitiveIssuers.contains(canonicalIssuer)) {
            canonicalSubject = fold(canonicalSubject);
        }
        return new Principal(canonicalIssuer, canonicalSubject);
    }

    static String fold(String subject) {
        return Normalizer.normalize(subject, Normalizer.Form.NFKC).toUpperCase(Locale.ROOT).toLowerCase(Locale.ROOT);
    }

    private static String part(String name, String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("a principal's " + name + " must not be empty");
        }
        if (!value.equals(value.strip())) {
            throw new IllegalArgumentException("a principal's " + name + " must not begin or end with white space");
        }
        if (value.codePoints().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("a principal's " + name + " must not contain control characters");
        }
        return Normalizer.normalize(value, Normalizer.Form.NFC);
    }

    @Override
    public String toString() {
        return id();
    }
}
