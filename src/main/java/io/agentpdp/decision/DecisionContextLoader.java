package io.agentpdp.decision;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

import io.agentpdp.audit.AuditTrail;
import io.agentpdp.credential.CredentialProfile;
import io.agentpdp.jdbc.NamedStatement;
import io.agentpdp.registry.Registry;

/** Loads a {@link DecisionContext} with a single query, so a decision costs one database read. */
@Component
class DecisionContextLoader {

    private final JdbcClient jdbc;

    DecisionContextLoader(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * What one decision looks up. {@code principal}: the caller's canonical subject (the registry's
     * enforcement point principal); {@code parentDecision}: the task's parent decision, null when none is named.
     */
    record Query(String tenant, String principal, String agentId, String taskId, UUID parentDecision, String tool,
                 Registry.Target target, UUID approvalId, UUID heldCredentialDecision, Duration denyWindow,
                 Duration rateWindow) {
    }

    /** Package-private for {@code FreshDatabasePlanTest}, which checks the plan it gets on a fresh database. */
    static final NamedStatement CONTEXT = NamedStatement.parse("""
                select now() as db_now,
                       a.agent_id is not null as registered, a.enabled as agent_enabled, a.owner, a.allowed_tools,
                       a.home_systems, a.max_chain_depth, a.spiffe_ids,
                       t.name is not null as tool_registered, t.target_system as tool_target_system,
                       t.action_kinds as tool_action_kinds, t.risk_tier as tool_risk_tier, t.read_only as tool_read_only,
                       t.destructive as tool_destructive, t.version as tool_version,
                       t.argument_schema as tool_argument_schema, t.credential_profile as tool_credential_profile,
                       cp.kind as profile_kind, cp.policies as profile_policies, cp.per_agent as profile_per_agent,
                       cp.mount as profile_mount, cp.role as profile_role, cp.max_ttl_seconds as profile_max_ttl_seconds,
                       cp.max_uses as profile_max_uses, cp.wrapped as profile_wrapped,
                       sys.name as system_name, coalesce(sys.case_sensitive, false) as system_case_sensitive,
                       coalesce(q.active, false) as quarantined,
                       rc.level as classification,
                       ap.id as approval_id, ap.status as approval_status, ap.fingerprint as approval_fingerprint,
                       ap.expired as approval_expired, ap.consumed_at as approval_consumed_at,
                       held.decision_id as held_decision_id, held.task_id as held_task_id, held.policies as held_policies,
                       held.expires_at as held_expires_at, held.num_uses as held_num_uses, held.wrapped as held_wrapped,
                       held.reusable as held_reusable,
                       held.revoked_at is null and held.revoke_requested_at is null and held.expires_at > now() as held_live,
                       greatest(0, floor(extract(epoch from held.expires_at - now())))::bigint as held_remaining_seconds,
                       encode(sha256(convert_to(held.accessor, 'UTF8')), 'hex') as held_accessor_hash,
                       ep.id as ep_id, ep.enabled as ep_enabled,
                       (:agent = any (ep.agent_ids)
                        or a.agent_id is not null and exists (select 1 from jsonb_array_elements(ep.agent_selectors) s (selector)
                                                               where a.labels @> s.selector)) as ep_binds_agent,
                       parent.id as parent_id, parent.chain_depth as parent_chain_depth,
                       activity.denies, activity.decisions
                from (values (1)) as one (x)
                left join agent a on a.tenant_id = :tenant and a.agent_id = :agent
                left join tool t on t.tenant_id = :tenant and t.name = :tool
                left join credential_profile cp on cp.tenant_id = :tenant and cp.name = t.credential_profile
                left join quarantine q on q.tenant_id = :tenant and q.agent_id = :agent
                -- The caller's enforcement point: its principal is the caller's canonical subject, in this tenant only.
                left join enforcement_point ep on ep.tenant_id = :tenant and ep.principal = :principal
                -- The parent decision, the presented approval and the held credential are found by their keys alone,
                -- by functions whose plan is that key's index whatever the statistics say (migration V30); a key the
                -- request does not name is a one-time filter, so the function is not called at all.
                left join lateral (select * from decision_parent(:tenant, cast(:parent as uuid), :agent, :task,
                                                                 :refusalCause, :refused)
                                   where cast(:parent as uuid) is not null) parent on true
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
                left join lateral (select * from approval_presented(:tenant, cast(:approval as uuid))
                                   where cast(:approval as uuid) is not null) ap on true
                left join lateral (select * from credential_held(:tenant, :agent, cast(:held as uuid))
                                   where cast(:held as uuid) is not null) held on true
                -- The agent's recent policy verdicts (quarantine triggers), counted by a function whose plan is the
                -- (tenant_id, agent_id, decided_at) index scan whatever the statistics say (migration V28); only decisions that carried the agent's verified workload identity count (V23).
                cross join lateral decision_activity(:tenant, :agent, :denyMillis, :rateMillis, :policyCause,
                                                     :refused) activity
                """);

    /**
     * Every time comparison here uses the database's {@code now()}: approval expiry (as the spending
     * UPDATE does) and the trigger windows (over decisions stamped with that same clock). A replica's own
     * clock, however far off, cannot make an expired approval valid or empty a window.
     */
    DecisionContext load(Query q) {
        return jdbc.sql(CONTEXT.sql())
                .params(parameters(q))
                .query((rs, row) -> map(rs))
                .single();
    }

    /** {@link #CONTEXT}'s positional values for {@code q}. */
    static Object[] parameters(Query q) {
        return CONTEXT.bind()
                .set("tenant", q.tenant())
                .set("principal", q.principal())
                .set("agent", q.agentId())
                .set("task", q.taskId())
                .set("parent", q.parentDecision())
                .set("tool", q.tool())
                .set("system", q.target().system())
                .set("resource", q.target().resource())
                .set("systemFolded", q.target().systemFolded())
                .set("resourceFolded", q.target().resourceFolded())
                .set("approval", q.approvalId())
                .set("held", q.heldCredentialDecision())
                .set("denyMillis", q.denyWindow().toMillis())
                .set("rateMillis", q.rateWindow().toMillis())
                .set("policyCause", AuditTrail.Cause.POLICY.wire())
                .set("refusalCause", AuditTrail.Cause.REFUSAL.wire())
                .set("refused", RefusalRecorder.REQUEST_REFUSED)
                .values();
    }

    private static DecisionContext map(ResultSet rs) throws SQLException {
        Columns c = Columns.of(rs);
        UUID approvalId = rs.getObject(c.at("approval_id"), UUID.class);
        DecisionContext.ApprovalState approval = approvalId == null ? null : new DecisionContext.ApprovalState(
                approvalId, rs.getString(c.at("approval_status")), rs.getString(c.at("approval_fingerprint")),
                rs.getBoolean(c.at("approval_expired")), instant(rs.getTimestamp(c.at("approval_consumed_at"))));
        UUID heldDecision = rs.getObject(c.at("held_decision_id"), UUID.class);
        DecisionContext.HeldCredential held = heldDecision == null ? null : new DecisionContext.HeldCredential(
                heldDecision, rs.getString(c.at("held_task_id")), strings(rs.getArray(c.at("held_policies"))),
                rs.getBoolean(c.at("held_live")), rs.getLong(c.at("held_remaining_seconds")),
                rs.getTimestamp(c.at("held_expires_at")).toInstant(), rs.getInt(c.at("held_num_uses")),
                rs.getBoolean(c.at("held_wrapped")), rs.getBoolean(c.at("held_reusable")), rs.getString(c.at("held_accessor_hash")));
        DecisionContext.Tool tool = !rs.getBoolean(c.at("tool_registered")) ? null : new DecisionContext.Tool(
                rs.getString(c.at("tool_target_system")), strings(rs.getArray(c.at("tool_action_kinds"))),
                rs.getString(c.at("tool_risk_tier")), rs.getBoolean(c.at("tool_read_only")), rs.getBoolean(c.at("tool_destructive")),
                rs.getLong(c.at("tool_version")), rs.getString(c.at("tool_argument_schema")),
                rs.getString(c.at("tool_credential_profile")), profile(rs, c));
        UUID pointId = rs.getObject(c.at("ep_id"), UUID.class);
        DecisionContext.EnforcementPoint point = pointId == null ? null
                : new DecisionContext.EnforcementPoint(pointId, rs.getBoolean(c.at("ep_enabled")), rs.getBoolean(c.at("ep_binds_agent")));
        UUID parentId = rs.getObject(c.at("parent_id"), UUID.class);
        return new DecisionContext(
                rs.getBoolean(c.at("registered")),
                rs.getBoolean(c.at("agent_enabled")),
                rs.getString(c.at("owner")),
                strings(rs.getArray(c.at("allowed_tools"))),
                strings(rs.getArray(c.at("home_systems"))),
                rs.getObject(c.at("max_chain_depth"), Integer.class),
                strings(rs.getArray(c.at("spiffe_ids"))),
                tool,
                rs.getString(c.at("system_name")),
                rs.getBoolean(c.at("system_case_sensitive")),
                rs.getBoolean(c.at("quarantined")),
                Classification.fromWire(rs.getString(c.at("classification"))),
                approval,
                held,
                point,
                parentId == null ? null : new DecisionContext.Parent(parentId, rs.getInt(c.at("parent_chain_depth"))),
                rs.getLong(c.at("denies")),
                rs.getLong(c.at("decisions")),
                rs.getTimestamp(c.at("db_now")).toInstant());
    }

    /** The tool's credential profile, null when it names none or one that is not registered. */
    private static CredentialProfile profile(ResultSet rs, Columns c) throws SQLException {
        String kind = rs.getString(c.at("profile_kind"));
        return kind == null ? null : new CredentialProfile(rs.getString(c.at("tool_credential_profile")),
                CredentialProfile.Kind.fromWire(kind), strings(rs.getArray(c.at("profile_policies"))),
                rs.getBoolean(c.at("profile_per_agent")), rs.getString(c.at("profile_mount")), rs.getString(c.at("profile_role")),
                Duration.ofSeconds(rs.getInt(c.at("profile_max_ttl_seconds"))), rs.getObject(c.at("profile_max_uses"), Integer.class),
                rs.getBoolean(c.at("profile_wrapped")));
    }

    private static List<String> strings(Array array) throws SQLException {
        return array == null ? List.of() : Arrays.asList((String[]) array.getArray());
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }

    /**
     * The context row's column positions by name, read once from the statement's result metadata (its columns are
     * fixed by {@link #CONTEXT}'s text). The driver builds its own name index for every result set it is asked by
     * name: about 2 % of a DENY's profile.
     */
    private static final class Columns {
        private static volatile Columns known;
        private final Map<String, Integer> positions;

        private Columns(Map<String, Integer> positions) {
            this.positions = positions;
        }

        static Columns of(ResultSet rs) throws SQLException {
            Columns columns = known;
            if (columns == null) {
                ResultSetMetaData meta = rs.getMetaData();
                Map<String, Integer> positions = new HashMap<>();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    positions.putIfAbsent(meta.getColumnLabel(i), i);
                }
                columns = new Columns(Map.copyOf(positions));
                known = columns;
            }
            return columns;
        }

        int at(String name) {
            Integer position = positions.get(name);
            if (position == null) {
                throw new IllegalStateException("The context read has no column " + name);
            }
            return position;
        }
    }
}
