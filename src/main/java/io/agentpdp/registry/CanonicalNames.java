package io.agentpdp.registry;

import java.util.Locale;

import com.ibm.icu.lang.UCharacter;
import com.ibm.icu.lang.UProperty;
import com.ibm.icu.text.Normalizer2;
import com.ibm.icu.text.SpoofChecker;

/**
 * The canonical syntax of target systems and resources (docs/architecture.md, "Canonical resource names").
 * A name is {@code /}-separated segments; no segment is empty, {@code .} or {@code ..}; no leading or
 * trailing {@code /}; it is in Unicode NFC; it has no whitespace, control, format, private-use,
 * unassigned or default-ignorable (invisible) character, no full-width or half-width form, no {@code %}
 * (percent-encoding) and no backslash; and no segment is a look-alike: ICU's UTS #39 checks refuse
 * mixed-script and mixed-number segments, and a non-ASCII segment whose confusable skeleton is plain
 * ASCII (Cyrillic "раy" for "pay", a division slash for {@code /}). Names are refused, never repaired:
 * repairing would make two spellings of one resource, which is what this prevents.
 */
final class CanonicalNames {

    static final int MAX_SYSTEM_LENGTH = 128;
    static final int MAX_RESOURCE_LENGTH = 512;

    private static final Normalizer2 NFC = Normalizer2.getNFCInstance();
    private static final SpoofChecker SPOOF = new SpoofChecker.Builder()
            .setChecks(SpoofChecker.RESTRICTION_LEVEL | SpoofChecker.MIXED_NUMBERS | SpoofChecker.INVISIBLE)
            .setRestrictionLevel(SpoofChecker.RestrictionLevel.MODERATELY_RESTRICTIVE)
            .build();

    private CanonicalNames() {
    }

    /** Why {@code name} is not a canonical system name (one segment), or null when it is. */
    static String systemProblem(String name) {
        String problem = problem(name, MAX_SYSTEM_LENGTH);
        if (problem == null && name.indexOf('/') >= 0) {
            return "must be a single segment (no '/')";
        }
        return problem;
    }

    /** Why {@code name} is not a canonical resource name (or prefix), or null when it is. */
    static String resourceProblem(String name) {
        return problem(name, MAX_RESOURCE_LENGTH);
    }

    /**
     * The key of a canonical name in a case-insensitive system: lower case by {@link Locale#ROOT} rules
     * after NFC, then NFC again (lower-casing can decompose). Never locale-dependent.
     */
    static String fold(String canonical) {
        return NFC.normalize(canonical.toLowerCase(Locale.ROOT));
    }

    private static String problem(String name, int maxLength) {
        if (name == null || name.isEmpty()) {
            return "must not be empty";
        }
        if (name.codePointCount(0, name.length()) > maxLength) {
            return "must be at most " + maxLength + " characters";
        }
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            String bad = badCharacter(c);
            if (bad != null) {
                return "contains " + bad + " (" + codePoint(c) + ")";
            }
            i += Character.charCount(c);
        }
        if (!NFC.isNormalized(name)) {
            return "is not in Unicode normalisation form NFC";
        }
        if (name.startsWith("/") || name.endsWith("/")) {
            return "must not start or end with '/'";
        }
        for (String segment : name.split("/", -1)) {
            if (segment.isEmpty()) {
                return "must not contain an empty segment ('//')";
            }
            if (segment.equals(".") || segment.equals("..")) {
                return "must not contain a '.' or '..' segment";
            }
            if (SPOOF.failsChecks(segment)) {
                return "has a segment that mixes scripts or number systems or hides characters ('" + segment + "')";
            }
            if (!isAscii(segment) && isAscii(SPOOF.getSkeleton(segment))) {
                return "has a segment that looks like an ASCII name but is not ('" + segment + "')";
            }
        }
        return null;
    }

    private static String badCharacter(int c) {
        if (c == '%') {
            return "'%' (percent-encoding is not canonical)";
        }
        if (c == '\\') {
            return "a backslash";
        }
        if (Character.isWhitespace(c) || Character.isSpaceChar(c)) {
            return "whitespace";
        }
        if (c >= 0xFF00 && c <= 0xFFEF) {
            return "a full-width or half-width form";
        }
        int type = Character.getType(c);
        if (type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                || type == Character.PRIVATE_USE || type == Character.UNASSIGNED
                || UCharacter.hasBinaryProperty(c, UProperty.DEFAULT_IGNORABLE_CODE_POINT)) {
            return "an invisible, control or unassigned character";
        }
        return null;
    }

    private static boolean isAscii(String text) {
        return text.chars().allMatch(c -> c < 0x80);
    }

    private static String codePoint(int c) {
        return String.format(Locale.ROOT, "U+%04X", c);
    }
}
