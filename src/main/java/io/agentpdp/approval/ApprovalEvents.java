package io.agentpdp.approval;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

import tools.jackson.databind.json.JsonMapper;

/**
 * The approval audit trail: every transition is appended to {@code approval_event} (who, when, why)
 * in the transaction of the transition itself, and, while a webhook is configured, queued in the
 * outbox in that same transaction. The payload names the approval, never a credential or token.
 */
@Component
class ApprovalEvents {

    static final String SYSTEM = "system:approval-sweeper";
    static final String PDP = "system:pdp";

    private final JdbcClient jdbc;
    private final JsonMapper json;
    private final ApprovalProperties properties;

    ApprovalEvents(JdbcClient jdbc, JsonMapper json, ApprovalProperties properties) {
        this.jdbc = jdbc;
        this.json = json;
        this.properties = properties;
    }

    /** Records {@code event} on {@code row} (the row as it is after the transition). */
    void record(ApprovalRow row, String event, String actor, String reason) {
        record Stored(long id, Instant at) {
        }
        Stored stored = jdbc.sql("""
                insert into approval_event (approval_id, tenant_id, event, status, actor, reason)
                values (:approval, :tenant, :event, :status, :actor, :reason)
                returning id, at
                """)
                .param("approval", row.id())
                .param("tenant", row.tenant())
                .param("event", event)
                .param("status", row.status())
                .param("actor", actor)
                .param("reason", reason)
                .query((rs, n) -> new Stored(rs.getLong("id"), rs.getTimestamp("at").toInstant()))
                .single();
        if (!properties.webhookEnabled()) {
            return;
        }
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("event_id", stored.id());
        payload.put("event", "approval." + event.toLowerCase(java.util.Locale.ROOT));
        payload.put("approval_id", row.id().toString());
        payload.put("tenant", row.tenant());
        payload.put("agent_id", row.agentId());
        payload.put("task_id", row.taskId());
        payload.put("tool", row.tool());
        payload.put("action", row.action());
        payload.put("classification", row.classification());
        payload.put("status", row.status());
        payload.put("required_approvals", row.requiredApprovals());
        payload.put("expires_at", row.expiresAt().toString());
        payload.put("actor", actor);
        payload.put("reason", reason);
        payload.put("at", stored.at().toString());
        jdbc.sql("insert into approval_webhook_outbox (event_id, tenant_id, payload) values (:event, :tenant, cast(:payload as jsonb))")
                .param("event", stored.id())
                .param("tenant", row.tenant())
                .param("payload", json.writeValueAsString(payload))
                .update();
    }
}
