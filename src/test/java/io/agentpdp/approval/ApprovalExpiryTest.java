package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import io.agentpdp.support.Api;

/** Expiry with tiny TTLs: pending requests and unused approvals expire, the sweeper marks them, agents learn why. */
@TestPropertySource(properties = {
        "pdp.approval.pending-ttl=1500ms",
        "pdp.approval.approved-ttl=1s",
        "pdp.approval.sweep-interval=200ms"})
class ApprovalExpiryTest extends ApprovalTestBase {

    @Test
    void aPendingRequestExpiresAndIsSweptWithAnAuditEvent() throws Exception {
        String tenant = tenantWithAgent();
        Api.Answer stepUp = decide(tenant, deleteRequest(tenant, "contacts/42"));
        String id = stepUp.json().path("approval").path("id").asString();
        assertThat(Instant.parse(stepUp.json().path("approval").path("expires_at").asString()))
                .isBefore(Instant.now().plusSeconds(3));

        eventually(Duration.ofSeconds(10), () -> "EXPIRED".equals(storedStatus(id)));
        assertThat(get(tenant, id).text("status")).isEqualTo("EXPIRED");
        assertThat(get(tenant, id).text("status_reason")).isEqualTo("pending_ttl_elapsed");
        // Its TTL is shorter than reminder-before: a sweep that finds it still pending reminds the approvers once.
        assertThat(events(id)).filteredOn(e -> !e.startsWith("REMINDER:"))
                .containsExactly("REQUESTED:" + pid(GATEWAY), "EXPIRED:system:approval-sweeper");
        assertThat(events(id)).filteredOn(e -> e.startsWith("REMINDER:")).hasSizeLessThanOrEqualTo(1);

        assertThat(approve(tenant, id, "bob").status()).isEqualTo(409);
        Api.Answer denied = decide(tenant, with(deleteRequest(tenant, "contacts/42"), "approval_id", id));
        assertThat(denied.text("outcome")).isEqualTo("DENY");
        assertThat(reasons(denied)).contains("approval_invalid", "approval_expired");
        assertThat(stepUp(tenant, deleteRequest(tenant, "contacts/42"))).isNotEqualTo(id);
    }

    @Test
    void anApprovedButUnusedRequestExpires() throws Exception {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        Api.Answer approved = approve(tenant, id, "bob");
        assertThat(approved.text("status")).isEqualTo("APPROVED");
        // The approved TTL counts from the approval, not from the request.
        assertThat(Instant.parse(approved.text("expires_at"))).isBefore(Instant.now().plusMillis(1500));

        eventually(Duration.ofSeconds(10), () -> "EXPIRED".equals(storedStatus(id)));
        assertThat(get(tenant, id).text("status_reason")).isEqualTo("approved_ttl_elapsed");
        Api.Answer denied = decide(tenant, with(deleteRequest(tenant, "contacts/42"), "approval_id", id));
        assertThat(denied.text("outcome")).isEqualTo("DENY");
        assertThat(reasons(denied)).contains("approval_expired");
        assertThat(denied.json().has("credential")).isFalse();
    }

    @Test
    void aLongPollEndsWhenTheRequestExpires() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/42"));
        long start = System.nanoTime();
        Api.Answer answer = api().get("/v1/approvals/" + id + "?wait=10s",
                io.agentpdp.support.TestJwts.token(GATEWAY, tenant, "decide"));
        assertThat(answer.text("status")).isEqualTo("EXPIRED");
        assertThat(answer.json().path("retry_decision").asBoolean()).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }
}
