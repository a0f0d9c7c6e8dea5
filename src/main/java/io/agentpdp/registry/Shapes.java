package io.agentpdp.registry;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.springframework.stereotype.Component;

import io.agentpdp.web.Problems;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * How each kind of registry entry maps to its table: key, columns, filters. The SQL itself is built
 * from these names by {@link RegistryStore}; no name here comes from a request.
 */
@Component
class Shapes {

    /** A column value stored as jsonb. */
    record Json(String text) {
    }

    /** A list filter: its SQL predicate (over the parameter {@code :filter}) and how the query value converts. */
    record Filter(String predicate, Function<String, Object> value) {
    }

    abstract static class Shape<S> {
        final Kind kind;
        final String collection;
        final String table;
        final String keyColumn;
        final boolean uuidKey;
        final Class<S> type;

        Shape(Kind kind, String collection, String table, String keyColumn, boolean uuidKey, Class<S> type) {
            this.kind = kind;
            this.collection = collection;
            this.table = table;
            this.keyColumn = keyColumn;
            this.uuidKey = uuidKey;
            this.type = type;
        }

        /** The id given in the entry itself, or null when the server assigns it (UUID-keyed kinds). */
        abstract String id(S spec);

        /** What a registry file identifies the entry by. */
        abstract String naturalKey(S spec);

        abstract S normalized(S spec);

        abstract Map<String, Object> columns(S spec);

        abstract S read(ResultSet rs) throws SQLException;

        Map<String, Filter> filters() {
            return Map.of();
        }

        /** Whether {@code id} could name an entry of this kind (else it names nothing: 404). */
        boolean validId(String id) {
            if (id == null) {
                return false;
            }
            if (uuidKey) {
                return RegistryStore.isUuid(id);
            }
            return switch (kind) {
                case AGENT -> id.matches(Registry.AGENT_ID);
                case TOOL -> id.matches(Specs.TOOL_NAME);
                case CREDENTIAL_PROFILE -> id.matches(Specs.PROFILE);
                default -> CanonicalNames.systemProblem(id) == null;
            };
        }
    }

    private final JsonMapper json;
    final Shape<Specs.Agent> agents;
    final Shape<Specs.Tool> tools;
    final Shape<Specs.TargetSystem> systems;
    final Shape<Specs.EnforcementPoint> enforcementPoints;
    final Shape<Specs.Classification> classifications;
    final Shape<Specs.CredentialProfile> profiles;
    final List<Shape<?>> all;

    Shapes(JsonMapper json) {
        this.json = json;
        this.agents = new AgentShape();
        this.tools = new ToolShape();
        this.systems = new SystemShape();
        this.enforcementPoints = new EnforcementPointShape();
        this.classifications = new ClassificationShape();
        this.profiles = new ProfileShape();
        // Dependency order: what others refer to first (deletions run in reverse).
        this.all = List.of(systems, profiles, tools, agents, enforcementPoints, classifications);
    }

    Shape<?> byCollection(String collection) {
        return all.stream().filter(shape -> shape.collection.equals(collection)).findFirst()
                .orElseThrow(() -> new Problems.ApiException(404, "Not found", "No such registry collection."));
    }

    private final class AgentShape extends Shape<Specs.Agent> {
        AgentShape() {
            super(Kind.AGENT, "agents", "agent", "agent_id", false, Specs.Agent.class);
        }

        @Override
        String id(Specs.Agent spec) {
            return spec.id();
        }

        @Override
        String naturalKey(Specs.Agent spec) {
            return spec.id();
        }

        @Override
        Specs.Agent normalized(Specs.Agent spec) {
            return spec.normalized();
        }

        @Override
        Map<String, Object> columns(Specs.Agent a) {
            Map<String, Object> columns = new LinkedHashMap<>();
            columns.put("display_name", a.displayName());
            columns.put("owner_issuer", a.owner().issuer());
            columns.put("owner", a.owner().subject());
            columns.put("spiffe_ids", a.spiffeIds().toArray(String[]::new));
            columns.put("allowed_tools", a.allowedTools().toArray(String[]::new));
            columns.put("home_systems", a.homeSystems().toArray(String[]::new));
            columns.put("max_chain_depth", a.maxChainDepth());
            columns.put("enabled", a.enabled());
            columns.put("labels", new Json(json.writeValueAsString(a.labels())));
            return columns;
        }

        @Override
        Specs.Agent read(ResultSet rs) throws SQLException {
            return new Specs.Agent(rs.getString("agent_id"), rs.getString("display_name"),
                    new Specs.Principal(rs.getString("owner_issuer"), rs.getString("owner")),
                    strings(rs.getArray("spiffe_ids")), strings(rs.getArray("allowed_tools")),
                    strings(rs.getArray("home_systems")), rs.getObject("max_chain_depth", Integer.class),
                    rs.getBoolean("enabled"), labels(rs.getString("labels"))).normalized();
        }

        @Override
        Map<String, Filter> filters() {
            return Map.of(
                    "enabled", new Filter("enabled = :filter", Shapes::bool),
                    "label", new Filter("labels @> cast(:filter as jsonb)", this::label),
                    "tool", new Filter(":filter = any (allowed_tools)", value -> value),
                    "owner_subject", new Filter("owner = :filter", value -> value));
        }

        private Object label(String selector) {
            int equals = selector.indexOf('=');
            if (equals <= 0) {
                throw new Problems.ApiException(400, "Invalid request", "Parameter 'label' must be key=value.");
            }
            return json.writeValueAsString(Map.of(selector.substring(0, equals), selector.substring(equals + 1)));
        }
    }

    private final class ToolShape extends Shape<Specs.Tool> {
        ToolShape() {
            super(Kind.TOOL, "tools", "tool", "name", false, Specs.Tool.class);
        }

        @Override
        String id(Specs.Tool spec) {
            return spec.name();
        }

        @Override
        String naturalKey(Specs.Tool spec) {
            return spec.name();
        }

        @Override
        Specs.Tool normalized(Specs.Tool spec) {
            return spec.normalized();
        }

        @Override
        Map<String, Object> columns(Specs.Tool t) {
            Map<String, Object> columns = new LinkedHashMap<>();
            columns.put("target_system", t.targetSystem());
            columns.put("action_kinds", t.actionKinds().stream().map(Registry.ActionKind::wire).toArray(String[]::new));
            columns.put("risk_tier", t.riskTier().wire());
            columns.put("read_only", t.readOnly());
            columns.put("destructive", t.destructive());
            columns.put("credential_profile", t.credentialProfile());
            columns.put("argument_schema", t.argumentSchema() == null ? null : json.writeValueAsString(t.argumentSchema()));
            return columns;
        }

        @Override
        Specs.Tool read(ResultSet rs) throws SQLException {
            String schema = rs.getString("argument_schema");
            return new Specs.Tool(rs.getString("name"), rs.getString("target_system"),
                    strings(rs.getArray("action_kinds")).stream().map(Registry.ActionKind::fromWire).toList(),
                    Specs.RiskTier.fromWire(rs.getString("risk_tier")), rs.getBoolean("read_only"),
                    rs.getBoolean("destructive"), rs.getString("credential_profile"),
                    schema == null ? null : json.readTree(schema)).normalized();
        }

        @Override
        Map<String, Filter> filters() {
            return Map.of("target_system", new Filter("target_system = :filter", value -> value),
                    "risk_tier", new Filter("risk_tier = :filter", value -> value));
        }
    }

    private final class SystemShape extends Shape<Specs.TargetSystem> {
        SystemShape() {
            super(Kind.SYSTEM, "systems", "target_system", "name", false, Specs.TargetSystem.class);
        }

        @Override
        String id(Specs.TargetSystem spec) {
            return spec.name();
        }

        @Override
        String naturalKey(Specs.TargetSystem spec) {
            return spec.name();
        }

        @Override
        Specs.TargetSystem normalized(Specs.TargetSystem spec) {
            return spec.normalized();
        }

        @Override
        Map<String, Object> columns(Specs.TargetSystem s) {
            Map<String, Object> columns = new LinkedHashMap<>();
            columns.put("case_sensitive", s.caseSensitive());
            columns.put("display_name", s.displayName());
            return columns;
        }

        @Override
        Specs.TargetSystem read(ResultSet rs) throws SQLException {
            return new Specs.TargetSystem(rs.getString("name"), rs.getBoolean("case_sensitive"), rs.getString("display_name"));
        }
    }

    private final class EnforcementPointShape extends Shape<Specs.EnforcementPoint> {
        EnforcementPointShape() {
            super(Kind.ENFORCEMENT_POINT, "enforcement-points", "enforcement_point", "id", true, Specs.EnforcementPoint.class);
        }

        @Override
        String id(Specs.EnforcementPoint spec) {
            return null;
        }

        @Override
        String naturalKey(Specs.EnforcementPoint spec) {
            return spec.principal();
        }

        @Override
        Specs.EnforcementPoint normalized(Specs.EnforcementPoint spec) {
            return spec.normalized();
        }

        @Override
        Map<String, Object> columns(Specs.EnforcementPoint e) {
            Map<String, Object> columns = new LinkedHashMap<>();
            columns.put("principal", e.principal());
            columns.put("agent_ids", e.agentIds().toArray(String[]::new));
            columns.put("agent_selectors", new Json(json.writeValueAsString(e.agentSelectors())));
            columns.put("enabled", e.enabled());
            return columns;
        }

        @Override
        Specs.EnforcementPoint read(ResultSet rs) throws SQLException {
            List<Map<String, String>> selectors = json.readValue(rs.getString("agent_selectors"),
                    new TypeReference<List<Map<String, String>>>() { });
            return new Specs.EnforcementPoint(rs.getString("principal"), strings(rs.getArray("agent_ids")), selectors,
                    rs.getBoolean("enabled")).normalized();
        }

        @Override
        Map<String, Filter> filters() {
            return Map.of("principal", new Filter("principal = :filter", value -> value),
                    "agent", new Filter(":filter = any (agent_ids)", value -> value));
        }
    }

    private final class ClassificationShape extends Shape<Specs.Classification> {
        ClassificationShape() {
            super(Kind.CLASSIFICATION, "classifications", "classification_rule", "id", true, Specs.Classification.class);
        }

        @Override
        String id(Specs.Classification spec) {
            return null;
        }

        @Override
        String naturalKey(Specs.Classification spec) {
            return spec.system() + " " + spec.resourcePrefix();
        }

        @Override
        Specs.Classification normalized(Specs.Classification spec) {
            return spec.normalized();
        }

        @Override
        Map<String, Object> columns(Specs.Classification c) {
            Map<String, Object> columns = new LinkedHashMap<>();
            columns.put("system", c.system());
            columns.put("resource_prefix", c.resourcePrefix());
            // Kept for lookups in a case-insensitive system; the PDP's fold, never the database's lower().
            columns.put("system_folded", CanonicalNames.fold(c.system()));
            columns.put("prefix_folded", CanonicalNames.fold(c.resourcePrefix()));
            columns.put("level", c.level().wire());
            return columns;
        }

        @Override
        Specs.Classification read(ResultSet rs) throws SQLException {
            return new Specs.Classification(rs.getString("system"), rs.getString("resource_prefix"),
                    Specs.Level.fromWire(rs.getString("level")));
        }

        @Override
        Map<String, Filter> filters() {
            return Map.of("system", new Filter("system = :filter", value -> value),
                    "level", new Filter("level = :filter", value -> value));
        }
    }

    private static final class ProfileShape extends Shape<Specs.CredentialProfile> {
        ProfileShape() {
            super(Kind.CREDENTIAL_PROFILE, "credential-profiles", "credential_profile", "name", false,
                    Specs.CredentialProfile.class);
        }

        @Override
        String id(Specs.CredentialProfile spec) {
            return spec.name();
        }

        @Override
        String naturalKey(Specs.CredentialProfile spec) {
            return spec.name();
        }

        @Override
        Specs.CredentialProfile normalized(Specs.CredentialProfile spec) {
            return spec.normalized();
        }

        @Override
        Map<String, Object> columns(Specs.CredentialProfile p) {
            Map<String, Object> columns = new LinkedHashMap<>();
            columns.put("kind", p.kind().wire());
            columns.put("policies", p.policies().toArray(String[]::new));
            columns.put("per_agent", p.perAgent());
            columns.put("mount", p.mount());
            columns.put("role", p.role());
            columns.put("max_ttl_seconds", p.maxTtlSeconds());
            columns.put("max_uses", p.maxUses());
            columns.put("wrapped", p.wrapped());
            return columns;
        }

        @Override
        Specs.CredentialProfile read(ResultSet rs) throws SQLException {
            return new Specs.CredentialProfile(rs.getString("name"), Specs.ProfileKind.fromWire(rs.getString("kind")),
                    strings(rs.getArray("policies")), rs.getBoolean("per_agent"), rs.getString("mount"),
                    rs.getString("role"), rs.getInt("max_ttl_seconds"), rs.getObject("max_uses", Integer.class),
                    rs.getBoolean("wrapped")).normalized();
        }

        @Override
        Map<String, Filter> filters() {
            return Map.of("kind", new Filter("kind = :filter", Shapes::profileKind));
        }
    }

    private Map<String, String> labels(String text) {
        return text == null ? Map.of() : json.readValue(text, new TypeReference<Map<String, String>>() { });
    }

    private static Object profileKind(String value) {
        if (!value.equals("token") && !value.equals("dynamic")) {
            throw new Problems.ApiException(400, "Invalid request", "Parameter 'kind' must be token or dynamic.");
        }
        return value;
    }

    private static Object bool(String value) {
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new Problems.ApiException(400, "Invalid request", "Parameter 'enabled' must be true or false.");
        };
    }

    static List<String> strings(Array array) throws SQLException {
        return array == null ? List.of() : Arrays.asList((String[]) array.getArray());
    }
}
