package io.agentpdp.decision;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

import io.agentpdp.audit.AuditTrail;
import io.agentpdp.registry.Registry;

/** Loads a {@link DecisionContext} with a single query, so a decision costs one database read. */
@Component
class DecisionContextLoader {

    private final JdbcClient jdbc;

    DecisionContextLoader(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * Every time comparison here uses the database's {@code now()}: approval expiry (as the spending
     * UPDATE does) and the trigger windows (over decisions stamped with that same clock). A replica's own
     * clock, however far off, cannot make an expired approval valid or empty a window.
     */
    DecisionContext load(String tenant, String agentId, String tool, Registry.Target target, UUID approvalId,
                         UUID heldCredentialDecision, Duration denyWindow, Duration rateWindow) {
        return jdbc.sql("""
                select now() as db_now,
                       a.agent_id is not null as registered, a.enabled as agent_enabled, a.owner, a.allowed_tools,
                       a.home_systems, a.max_chain_depth, a.spiffe_ids,
                       t.name is not null as tool_registered, t.target_system as tool_target_system,
                       t.action_kinds as tool_action_kinds, t.risk_tier as tool_risk_tier, t.read_only as tool_read_only,
                       t.destructive as tool_destructive, t.version as tool_version,
                       t.argument_schema as tool_argument_schema,
                       sys.name as system_name, coalesce(sys.case_sensitive, false) as system_case_sensitive,
                       coalesce(q.active, false) as quarantined,
                       rc.level as classification,
                       ap.id as approval_id, ap.status as approval_status, ap.fingerprint as approval_fingerprint,
                       ap.expires_at <= now() as approval_expired, ap.consumed_at as approval_consumed_at,
                       held.decision_id as held_decision_id, held.task_id as held_task_id, held.policies as held_policies,
                       held.expires_at as held_expires_at, held.num_uses as held_num_uses, held.wrapped as held_wrapped,
                       held.reusable as held_reusable,
                       held.revoked_at is null and held.revoke_requested_at is null and held.expires_at > now() as held_live,
                       greatest(0, floor(extract(epoch from held.expires_at - now())))::bigint as held_remaining_seconds,
                       encode(sha256(convert_to(held.accessor, 'UTF8')), 'hex') as held_accessor_hash,
                       activity.denies, activity.decisions
                from (values (1)) as one (x)
                left join agent a on a.tenant_id = :tenant and a.agent_id = :agent
                left join tool t on t.tenant_id = :tenant and t.name = :tool
                left join quarantine q on q.tenant_id = :tenant and q.agent_id = :agent
                -- An unregistered system is compared case-insensitively: folding only ever matches more rules.
                left join lateral (
                    select name, case_sensitive from target_system
                    where tenant_id = :tenant and (name = :system or (not case_sensitive and name = :systemFolded))
                    order by name = :system desc limit 1) sys on true
                -- This tenant's rules only; a prefix covers itself and what lies below it on a segment boundary.
                left join lateral (
                    select r.level from classification_rule r
                    where r.tenant_id = :tenant
                      and ((coalesce(sys.case_sensitive, false) and r.system = :system
                            and (r.resource_prefix = :resource or starts_with(:resource, r.resource_prefix || '/')))
                        or (not coalesce(sys.case_sensitive, false) and r.system_folded = :systemFolded
                            and (r.prefix_folded = :resourceFolded or starts_with(:resourceFolded, r.prefix_folded || '/'))))
                    order by length(r.prefix_folded) desc limit 1) rc on true
                left join approval ap on ap.id = cast(:approval as uuid) and ap.tenant_id = :tenant
                left join lateral (
                    select * from issued_credential
                    where decision_id = cast(:held as uuid) and tenant_id = :tenant and agent_id = :agent
                    limit 1) held on true
                cross join lateral (
                    select count(*) filter (where outcome = 'DENY' and decided_at > now() - :denyMillis * interval '1 millisecond') as denies,
                           count(*) filter (where decided_at > now() - :rateMillis * interval '1 millisecond') as decisions
                    from decision_record
                    where tenant_id = :tenant and agent_id = :agent
                      -- Only decisions that carried the agent's verified workload identity (V23): one decide token
                      -- cannot quarantine an agent whose SVID it does not have.
                      and identity_verified
                      and decided_at > now() - greatest(:denyMillis, :rateMillis) * interval '1 millisecond'
                      -- Only the policy's verdicts about a registered agent feed the triggers (AuditTrail.Cause):
                      -- never outages, refusals, quarantine DENYs. Records written without a cause (before
                      -- migration V7_1, or by an older replica in a rolling update) count as they did then.
                      and (cause = :policyCause or cause is null and not (cast(:refused as text) = any (reasons)))) activity
                """)
                .param("tenant", tenant)
                .param("agent", agentId)
                .param("tool", tool)
                .param("system", target.system())
                .param("resource", target.resource())
                .param("systemFolded", target.systemFolded())
                .param("resourceFolded", target.resourceFolded())
                .param("approval", approvalId)
                .param("held", heldCredentialDecision)
                .param("denyMillis", denyWindow.toMillis())
                .param("rateMillis", rateWindow.toMillis())
                .param("policyCause", AuditTrail.Cause.POLICY.wire())
                .param("refused", RefusalRecorder.REQUEST_REFUSED)
                .query((rs, row) -> map(rs))
                .single();
    }

    private static DecisionContext map(ResultSet rs) throws SQLException {
        UUID approvalId = rs.getObject("approval_id", UUID.class);
        DecisionContext.ApprovalState approval = approvalId == null ? null : new DecisionContext.ApprovalState(
                approvalId, rs.getString("approval_status"), rs.getString("approval_fingerprint"),
                rs.getBoolean("approval_expired"), instant(rs.getTimestamp("approval_consumed_at")));
        UUID heldDecision = rs.getObject("held_decision_id", UUID.class);
        DecisionContext.HeldCredential held = heldDecision == null ? null : new DecisionContext.HeldCredential(
                heldDecision, rs.getString("held_task_id"), strings(rs.getArray("held_policies")),
                rs.getBoolean("held_live"), rs.getLong("held_remaining_seconds"),
                rs.getTimestamp("held_expires_at").toInstant(), rs.getInt("held_num_uses"),
                rs.getBoolean("held_wrapped"), rs.getBoolean("held_reusable"), rs.getString("held_accessor_hash"));
        DecisionContext.Tool tool = !rs.getBoolean("tool_registered") ? null : new DecisionContext.Tool(
                rs.getString("tool_target_system"), strings(rs.getArray("tool_action_kinds")),
                rs.getString("tool_risk_tier"), rs.getBoolean("tool_read_only"), rs.getBoolean("tool_destructive"),
                rs.getLong("tool_version"), rs.getString("tool_argument_schema"));
        return new DecisionContext(
                rs.getBoolean("registered"),
                rs.getBoolean("agent_enabled"),
                rs.getString("owner"),
                strings(rs.getArray("allowed_tools")),
                strings(rs.getArray("home_systems")),
                rs.getObject("max_chain_depth", Integer.class),
                strings(rs.getArray("spiffe_ids")),
                tool,
                rs.getString("system_name"),
                rs.getBoolean("system_case_sensitive"),
                rs.getBoolean("quarantined"),
                Classification.fromWire(rs.getString("classification")),
                approval,
                held,
                rs.getLong("denies"),
                rs.getLong("decisions"),
                rs.getTimestamp("db_now").toInstant());
    }

    private static List<String> strings(Array array) throws SQLException {
        return array == null ? List.of() : Arrays.asList((String[]) array.getArray());
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }
}
