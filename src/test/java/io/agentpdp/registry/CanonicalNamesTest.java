package io.agentpdp.registry;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class CanonicalNamesTest {

    @ParameterizedTest
    @ValueSource(strings = {"payroll", "payroll/x", "contacts/vip/7", "a.b/c-d/e_f:g", "v1.2/file.txt", "café/menü",
            "Payroll/X", "données/2024", "東京/支店", "..a/b..", "x/.hidden"})
    void canonicalResourcesAreAccepted(String name) {
        assertThat(CanonicalNames.resourceProblem(name)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "", "/payroll/x", "payroll/x/", "payroll//x", "contacts//vip/7", "x/../payroll/y", "./payroll", "payroll/.",
            "payroll%2Fx", "%70ayroll", "payroll\\x", " payroll/x", "payroll/x ", "pay roll", "payroll\t/x",
            "\uFF50\uFF41\uFF59\uFF52\uFF4F\uFF4C\uFF4C/x",   // full-width "payroll"
            "pay\u200Broll/x",                                // zero-width space
            "pay\u200Droll", "\uFEFFpayroll", "pay\u00ADroll", // zero-width joiner, BOM, soft hyphen
            "payroll\u2215x",                                 // division slash looks like '/'
            "\u0440ayroll/x",                                 // Cyrillic 'р' in a Latin word
            "\u0440\u0430\u0443",                             // all-Cyrillic look-alike of "pay"
            "payroll\u3164x",                                 // Hangul filler (invisible letter)
            "payroll\u202Ex",                                 // right-to-left override
            "cafe\u0301",                                     // NFD, not NFC
            "pay\u0000roll", "pay\u007Froll", "pay\uE000roll", "pay\u2028roll"})
    void nonCanonicalResourcesAreRefused(String name) {
        assertThat(CanonicalNames.resourceProblem(name)).as("'%s'", name).isNotNull();
    }

    @Test
    void aSystemIsOneSegment() {
        assertThat(CanonicalNames.systemProblem("crm")).isNull();
        assertThat(CanonicalNames.systemProblem("crm/eu")).isNotNull();
        assertThat(CanonicalNames.systemProblem(" crm")).isNotNull();
    }

    @Test
    void foldingIsLocaleIndependentLowerCaseInNfc() {
        assertThat(CanonicalNames.fold("Payroll/X")).isEqualTo("payroll/x");
        assertThat(CanonicalNames.fold("PAYROLL")).isEqualTo(CanonicalNames.fold("payroll"));
        // Dotted capital I lowers to i + combining dot under ROOT rules, in every default locale.
        assertThat(CanonicalNames.fold("TITLE")).isEqualTo("title");
    }

    @Test
    void theRegistryNamesWhatIsWrong() {
        Registry registry = new Registry(null);
        assertThat(registry.canonicalTarget("crm", "contacts/vip/7").resource()).isEqualTo("contacts/vip/7");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> registry.canonicalTarget("crm", "contacts//vip/7"))
                .isInstanceOf(Registry.NonCanonicalNameException.class)
                .hasMessageContaining("target.resource").hasMessageContaining("empty segment");
    }
}
