package io.agentpdp.credential;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The PDP's own refusal (DENY credential_profile_invalid): whatever the policy result asks for, nothing outside
 * the tool's profile and the tenant's allowed set is minted. Pure logic: no Vault call happens before it.
 */
class CredentialProfileCheckTest {

    private static final CredentialProfile READER = new CredentialProfile("crm-reader", CredentialProfile.Kind.TOKEN,
            List.of("crm-read"), false, null, null, Duration.ofSeconds(300), 10, true);
    private static final CredentialProfile DATABASE = new CredentialProfile("db-reader", CredentialProfile.Kind.DYNAMIC,
            List.of(), false, "database", "crm-read", Duration.ofSeconds(120), null, true);

    private static CredentialIssuer.Request request(CredentialProfile profile, String tenant, List<String> policies,
                                                    long ttlSeconds, int uses) {
        return new CredentialIssuer.Request(profile, policies, Duration.ofSeconds(ttlSeconds), uses, tenant, "agent-7",
                "task-1", "d-1");
    }

    @Test
    void aRequestWithinTheProfileAndTheTenantPasses() throws Exception {
        assertThat(CredentialIssuer.check(request(READER, "acme", List.of("tenant.acme.crm-read"), 300, 10))).isSameAs(READER);
        assertThat(CredentialIssuer.check(request(DATABASE, "acme", List.of("database/creds/acme.crm-read"), 60, 1)))
                .isSameAs(DATABASE);
        assertThat(READER.grantable("acme")).containsExactly("tenant.acme.crm-read");
    }

    @Test
    void anotherTenantsPolicyIsRefusedEvenWhenThePolicyAsksForIt() {
        // The attack: acme's policies for a demo decision, and the old shared policies.
        for (List<String> asked : List.<List<String>>of(List.of("tenant.acme.crm-read"), List.of("tenant.demo.crm-read", "tenant.acme.crm-read"),
                List.of("agent-secret-read"), List.of("agent-write"), List.of("tenant.demo.secret-read"), List.of())) {
            assertThatThrownBy(() -> CredentialIssuer.check(request(READER, "demo", asked, 60, 1)))
                    .as(asked.toString()).isInstanceOf(CredentialIssuer.CredentialProfileInvalidException.class);
        }
        assertThatThrownBy(() -> CredentialIssuer.check(request(DATABASE, "demo", List.of("database/creds/acme.crm-read"), 60, 1)))
                .isInstanceOf(CredentialIssuer.CredentialProfileInvalidException.class);
    }

    @Test
    void overTheCapsIsRefused() {
        assertThatThrownBy(() -> CredentialIssuer.check(request(READER, "acme", List.of("tenant.acme.crm-read"), 301, 1)))
                .isInstanceOf(CredentialIssuer.CredentialProfileInvalidException.class).hasMessageContaining("TTL");
        assertThatThrownBy(() -> CredentialIssuer.check(request(READER, "acme", List.of("tenant.acme.crm-read"), 60, 11)))
                .isInstanceOf(CredentialIssuer.CredentialProfileInvalidException.class).hasMessageContaining("uses");
        assertThatThrownBy(() -> CredentialIssuer.check(request(DATABASE, "acme", List.of("database/creds/acme.crm-read"), 121, 1)))
                .isInstanceOf(CredentialIssuer.CredentialProfileInvalidException.class);
    }

    @Test
    void noProfileOrATenantThatCannotNameVaultObjectsGrantsNothing() {
        assertThatThrownBy(() -> CredentialIssuer.check(request(null, "acme", List.of("tenant.acme.crm-read"), 60, 1)))
                .isInstanceOf(CredentialIssuer.CredentialProfileInvalidException.class);
        // A tenant with a '.' or '/' could spell another tenant's prefix: it gets nothing.
        for (String tenant : List.of("acme.crm-read", "acme/x", "Acme", "", "-x")) {
            assertThat(READER.grantable(tenant)).as(tenant).isEmpty();
            assertThatThrownBy(() -> CredentialIssuer.check(request(READER, tenant, List.of("tenant." + tenant + ".crm-read"), 60, 1)))
                    .as(tenant).isInstanceOf(CredentialIssuer.CredentialProfileInvalidException.class);
        }
    }
}
