package io.agentpdp.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.security.oauth2.core.OAuth2AuthenticationException;
import org.springframework.security.oauth2.server.resource.web.DefaultBearerTokenResolver;
import org.springframework.security.web.firewall.RequestRejectedException;

/** The loop checks give exactly the answers of the stock regular expressions they replace. */
class FastFirewallTest {

    // Spring Security 7's StrictHttpFirewall and DefaultBearerTokenResolver patterns, copied to compare against.
    private static final Pattern NAME = Pattern.compile("[\\p{IsAssigned}&&[^\\p{IsControl}]]*");
    private static final Pattern VALUE = Pattern.compile("[\\p{IsAssigned}&&[[^\\p{IsControl}]||\\t]]*");
    private static final Pattern BEARER = Pattern.compile("^Bearer (?<token>[a-zA-Z0-9-._~+/]+=*)$", Pattern.CASE_INSENSITIVE);

    @Test
    void everyCodePointIsJudgedAsTheStockRegexJudgesIt() {
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            String alone = new String(Character.toChars(cp));
            String inside = "a" + alone + "b";
            assertThat(FastFirewall.assignedNotControl(alone)).as("U+%04X", cp).isEqualTo(NAME.matcher(alone).matches());
            assertThat(FastFirewall.headerValue(inside)).as("U+%04X", cp).isEqualTo(VALUE.matcher(inside).matches());
        }
    }

    @Test
    void loneSurrogatesTabsAndEmptyStringsAsTheStockRegex() {
        for (String text : List.of("", "\t", "a\tb", "\uD800", "x\uDC00y", "\uD83D\uDE00", "bearer abc\r\n", "\u0000", "\u007f",
                "\u0085", "caf\u00e9", "\uFFFF")) {
            assertThat(FastFirewall.assignedNotControl(text)).as(text).isEqualTo(NAME.matcher(text).matches());
            assertThat(FastFirewall.headerValue(text)).as(text).isEqualTo(VALUE.matcher(text).matches());
        }
    }

    @Test
    void theFirewallRejectsAControlCharacterInAHeaderValue() {
        MockHttpServletRequest request = new MockHttpServletRequest("POST", "/v1/decisions");
        request.addHeader("X-Test", "a\u0001b");
        var firewalled = FastFirewall.create().getFirewalledRequest(request);
        assertThatThrownBy(() -> firewalled.getHeader("X-Test")).isInstanceOf(RequestRejectedException.class);
        request.addHeader("X-Fine", "a\tb");
        assertThat(firewalled.getHeader("X-Fine")).isEqualTo("a\tb");
    }

    @Test
    void bearerHeadersAreResolvedAsTheDefaultResolverResolvesThem() {
        List<String> headers = new ArrayList<>(List.of("Bearer abc", "bearer abc", "BEARER a.b-c_d~e+f/g==", "Bearer ",
                "Bearer", "Bearer  abc", "Bearer abc def", "Bearer abc=", "Bearer =", "Bearer abc=x", "Bearer ab\u00e9",
                "Basic abc", "Bearerabc", "Bearer abc\n", "Bearer \u212Abc", "Token abc"));
        for (String header : headers) {
            for (String method : List.of("POST", "GET", "PUT")) {
                MockHttpServletRequest request = new MockHttpServletRequest(method, "/v1/decisions");
                request.addHeader("Authorization", header);
                String expected;
                try {
                    expected = new DefaultBearerTokenResolver().resolve(request);
                } catch (OAuth2AuthenticationException e) {
                    assertThatThrownBy(() -> new HeaderBearerTokenResolver().resolve(request)).as(header)
                            .isInstanceOf(OAuth2AuthenticationException.class);
                    continue;
                }
                assertThat(new HeaderBearerTokenResolver().resolve(request)).as(method + " " + header).isEqualTo(expected);
            }
            assertThat(HeaderBearerTokenResolver.wellFormed(header)).as(header).isEqualTo(BEARER.matcher(header).matches());
        }
    }

    @Test
    void requestsWithAnAccessTokenParameterGetTheDefaultResolversAnswer() {
        for (String method : List.of("GET", "POST")) {
            for (String type : List.of("application/json", "application/x-www-form-urlencoded")) {
                MockHttpServletRequest request = new MockHttpServletRequest(method, "/v1/approvals");
                request.setContentType(type);
                request.addHeader("Authorization", "Bearer abc");
                request.addParameter("access_token", "def");
                String expected;
                try {
                    expected = new DefaultBearerTokenResolver().resolve(request);
                } catch (OAuth2AuthenticationException e) {
                    assertThatThrownBy(() -> new HeaderBearerTokenResolver().resolve(request))
                            .isInstanceOf(OAuth2AuthenticationException.class);
                    continue;
                }
                assertThat(new HeaderBearerTokenResolver().resolve(request)).as(method + " " + type).isEqualTo(expected);
            }
        }
    }
}
