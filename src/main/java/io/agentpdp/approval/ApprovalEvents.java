package io.agentpdp.approval;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

import tools.jackson.databind.json.JsonMapper;

/**
 * The approval audit trail: every transition is appended to {@code approval_event} (who, when, why)
 * in the transaction of the transition itself, and, for each configured webhook receiver, queued in the
 * outbox in that same transaction as a CloudEvents 1.0 event. The payload shows the request as approvers
 * see it (arguments redacted), never a credential or token.
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
        String payload = json.writeValueAsString(cloudEvent(row, event, actor, reason, stored.id(), stored.at()));
        for (ApprovalProperties.Receiver receiver : properties.webhooks()) {
            jdbc.sql("""
                    insert into approval_webhook_outbox (event_id, tenant_id, payload, receiver, approval_id)
                    values (:event, :tenant, cast(:payload as jsonb), :receiver, :approval)
                    """)
                    .param("event", stored.id())
                    .param("tenant", row.tenant())
                    .param("payload", payload)
                    .param("receiver", receiver.name())
                    .param("approval", row.id())
                    .update();
        }
    }

    /**
     * The notification: a CloudEvents 1.0 event in structured JSON mode. {@code data} is what an approver needs
     * to judge the request (the redacted arguments, never a credential or token).
     */
    private Map<String, Object> cloudEvent(ApprovalRow row, String event, String actor, String reason, long eventId,
                                           Instant at) {
        long approvalsSoFar = jdbc.sql("select count(*) from approval_vote where approval_id = :id and verdict = 'APPROVE'")
                .param("id", row.id())
                .query(Long.class)
                .single();
        Map<String, Object> target = new LinkedHashMap<>();
        target.put("system", row.targetSystem());
        target.put("resource", row.targetResource());
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("approval_id", row.id().toString());
        data.put("status", row.status());
        data.put("tenant", row.tenant());
        data.put("agent_id", row.agentId());
        data.put("agent_owner", row.agentOwner());
        data.put("task_id", row.taskId());
        data.put("task_intent", row.taskIntent());
        data.put("tool", row.tool());
        data.put("tool_schema_version", row.toolSchemaVersion());
        data.put("action", row.action());
        data.put("target", target);
        data.put("classification", row.classification());
        data.put("arguments", row.arguments() == null ? null : json.readTree(row.arguments()));
        data.put("policy_reasons", row.policyReasons());
        data.put("requested_by", row.requestedBy());
        data.put("required_approvals", row.requiredApprovals());
        data.put("approvals_so_far", approvalsSoFar);
        data.put("expires_at", row.expiresAt().toString());
        data.put("actor", actor);
        data.put("reason", reason);
        Map<String, Object> cloudEvent = new LinkedHashMap<>();
        cloudEvent.put("specversion", "1.0");
        cloudEvent.put("id", "approval-event-" + eventId);
        cloudEvent.put("source", SOURCE);
        cloudEvent.put("type", TYPE_PREFIX + event.toLowerCase(java.util.Locale.ROOT));
        cloudEvent.put("subject", row.id().toString());
        cloudEvent.put("time", at.toString());
        cloudEvent.put("datacontenttype", "application/json");
        cloudEvent.put("data", data);
        return cloudEvent;
    }

    /** CloudEvents {@code source} of every approval event. */
    static final String SOURCE = "urn:agent-pdp:approvals";
    /** CloudEvents {@code type}: this prefix and the event in lower case (requested, reminder, approved, ...). */
    static final String TYPE_PREFIX = "io.agentpdp.approval.";
}
