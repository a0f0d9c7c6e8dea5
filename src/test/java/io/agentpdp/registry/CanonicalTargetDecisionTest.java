package io.agentpdp.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/**
 * The spellings an attack on the running service used to read classified data as unclassified
 * (ALLOW low_risk_read with a credential). Each ends in the stored classification or in a refusal
 * recorded as DENY, never in a lower level.
 */
class CanonicalTargetDecisionTest extends IntegrationTest {

    private String tenant;
    private String token;

    @BeforeEach
    void registry() {
        tenant = newTenant();
        token = TestJwts.token("gw-1", tenant, "decide");
        registerAgent(tenant, "agent-7", "alice", new String[] {"hr.payroll.read"}, new String[] {"hr"});
        registerAgent(tenant, "agent-8", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        jdbc.sql("insert into target_system (tenant_id, name, case_sensitive, updated_by) values (?, 'hr', false, 'test'), (?, 'crm', true, 'test')")
                .params(tenant, tenant).update();
        classify(tenant, "hr", "payroll", "restricted");
        classify(tenant, "crm", "contacts/vip", "confidential");
    }

    private Api.Answer readPayroll(String system, String resource) {
        return api().post("/v1/decisions", token, request(tenant, "agent-7", "hr.payroll.read", "read", system, resource, "confidential"));
    }

    private Api.Answer readContacts(String resource) {
        return api().post("/v1/decisions", token, request(tenant, "agent-8", "crm.contacts.read", "read", "crm", resource, "internal"));
    }

    private String storedClassification(Api.Answer answer) {
        tools.jackson.databind.JsonNode stored = api().get("/v1/decisions/" + answer.text("decision_id"), token)
                .json().path("classification").path("stored");
        return stored.isString() ? stored.asString() : null;
    }

    @ParameterizedTest
    @ValueSource(strings = {"payroll", "payroll/x", "Payroll/x", "PAYROLL/X", "payroll/x/y"})
    void spellingsOfARestrictedResourceGetItsStoredClassification(String resource) {
        Api.Answer answer = readPayroll("hr", resource);
        assertThat(answer.text("outcome")).isEqualTo("STEP_UP");
        assertThat(answer.json().path("reasons").toString()).contains("restricted_data");
        assertThat(answer.json().has("credential")).isFalse();
        assertThat(storedClassification(answer)).isEqualTo("restricted");
    }

    @Test
    void aCaseInsensitiveSystemNameIsFoldedToo() {
        Api.Answer answer = readPayroll("HR", "Payroll/x");
        assertThat(answer.text("outcome")).isEqualTo("STEP_UP");
        assertThat(storedClassification(answer)).isEqualTo("restricted");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/payroll/x", "x/../payroll/y", "payroll/./x", "payroll%2Fx", "%70ayroll/x", " payroll/x",
            "payroll/x ", "payroll\\x", "\uFF50\uFF41\uFF59\uFF52\uFF4F\uFF4C\uFF4C/x", "pay\u200Broll/x", "\uFEFFpayroll",
            "\u0440ayroll/x", "payroll\u2215x", "payroll//x", "payroll/"})
    void nonCanonicalSpellingsAreRefusedAndRecordedAsDeny(String resource) {
        Api.Answer answer = readPayroll("hr", resource);
        assertRefused(answer);
    }

    @ParameterizedTest
    @ValueSource(strings = {" hr", "\uFF48\uFF52", "h\u200Br", "hr/x", "h%72"})
    void nonCanonicalSystemsAreRefused(String system) {
        assertRefused(readPayroll(system, "payroll/x"));
    }

    private void assertRefused(Api.Answer answer) {
        assertThat(answer.status()).isEqualTo(400);
        assertThat(answer.text("decision")).isEqualTo("DENY");
        assertThat(answer.text("detail")).contains("target.");
        String decisionId = answer.text("decision_id");
        assertThat(decisionId).isNotNull();
        Map<String, Object> row = jdbc.sql("select outcome, reasons::text as reasons from decision_record where id = cast(? as uuid)")
                .param(decisionId).query().singleRow();
        assertThat(row.get("outcome")).isEqualTo("DENY");
        assertThat(row.get("reasons")).isEqualTo("{non_canonical_target}");
        assertThat(answer.json().has("credential")).isFalse();
        assertThat(jdbc.sql("select count(*) from issued_credential where decision_id = cast(? as uuid)").param(decisionId)
                .query(Long.class).single()).isZero();
    }

    @Test
    void theCollectionItselfAndEverythingBelowItAreClassified() {
        for (String resource : List.of("contacts/vip", "contacts/vip/7", "contacts/vip/7/notes")) {
            Api.Answer answer = readContacts(resource);
            assertThat(answer.text("outcome")).as(resource).isEqualTo("CONSTRAIN");
            assertThat(storedClassification(answer)).isEqualTo("confidential");
        }
        assertRefused(readContacts("contacts//vip/7"));
    }

    @Test
    void aPrefixMatchesOnSegmentBoundariesOnly() {
        Api.Answer answer = readContacts("contacts/vipx/7");
        assertThat(answer.text("outcome")).isEqualTo("ALLOW");
        assertThat(answer.json().path("reasons").toString()).contains("low_risk_read");
    }

    @Test
    void theMostSpecificRuleWins() {
        classify(tenant, "crm", "contacts/vip/board", "restricted");
        classify(tenant, "crm", "contacts", "internal");
        assertThat(storedClassification(readContacts("contacts/vip/board/1"))).isEqualTo("restricted");
        assertThat(storedClassification(readContacts("contacts/vip/2"))).isEqualTo("confidential");
        assertThat(storedClassification(readContacts("contacts/3"))).isEqualTo("internal");
    }

    @Test
    void aCaseSensitiveSystemKeepsCaseAsRegistered() {
        // crm is registered case-sensitive: Contacts/vip is another resource to it, not a spelling of contacts/vip.
        assertThat(storedClassification(readContacts("contacts/vip/1"))).isEqualTo("confidential");
        assertThat(storedClassification(readContacts("Contacts/vip/1"))).isNull();
    }

    @Test
    void anUnregisteredSystemIsComparedCaseInsensitively() {
        registerAgent(tenant, "agent-9", "alice", new String[] {"erp.ledger.read"}, new String[] {"erp"});
        classify(tenant, "erp", "ledger", "confidential");
        Api.Answer answer = api().post("/v1/decisions", token,
                request(tenant, "agent-9", "erp.ledger.read", "read", "ERP", "Ledger/2024", "internal"));
        assertThat(answer.text("outcome")).isEqualTo("CONSTRAIN");
        assertThat(storedClassification(answer)).isEqualTo("confidential");
    }
}
