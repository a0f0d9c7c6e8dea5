package io.agentpdp.credential;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** {@link CredentialProfile#vaultName} answers as the regular expressions it replaced, on any string. */
class CredentialProfileNameTest {

    private static final Pattern TENANT = Pattern.compile("^[a-z0-9][a-z0-9_-]{0,62}$");
    private static final Pattern VAULT_NAME = Pattern.compile("^[a-z0-9][a-z0-9_-]{0,63}$");
    /** Mostly characters near the allowed set's edges, so that near misses are common. */
    private static final String ALPHABET = "az09_-AZ./ \n\u00e9\u0131`{@[:/";

    @Test
    void answersAsTheRegularExpressions() {
        Random random = new Random(18);
        for (int n = 0; n < 50_000; n++) {
            StringBuilder name = new StringBuilder();
            int length = random.nextInt(4) == 0 ? 60 + random.nextInt(8) : random.nextInt(6);
            for (int i = 0; i < length; i++) {
                name.append(random.nextInt(4) == 0 ? ALPHABET.charAt(random.nextInt(ALPHABET.length()))
                        : (char) ('a' + random.nextInt(26)));
            }
            String candidate = name.toString();
            assertThat(CredentialProfile.vaultName(candidate, CredentialProfile.MAX_TENANT_LENGTH))
                    .as("tenant %s", candidate).isEqualTo(TENANT.matcher(candidate).matches());
            assertThat(CredentialProfile.vaultName(candidate, CredentialProfile.MAX_NAME_LENGTH))
                    .as("name %s", candidate).isEqualTo(VAULT_NAME.matcher(candidate).matches());
        }
        assertThat(CredentialProfile.vaultName(null, CredentialProfile.MAX_NAME_LENGTH)).isFalse();
        assertThat(CredentialProfile.vaultName("", CredentialProfile.MAX_NAME_LENGTH)).isFalse();
        assertThat(CredentialProfile.vaultName("a".repeat(64), CredentialProfile.MAX_NAME_LENGTH)).isTrue();
        assertThat(CredentialProfile.vaultName("a".repeat(64), CredentialProfile.MAX_TENANT_LENGTH)).isFalse();
        assertThat(CredentialProfile.vaultName("-a", CredentialProfile.MAX_NAME_LENGTH)).isFalse();
    }
}
