package io.agentpdp.registry;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The registry's tables, one generic set of statements over {@link Shapes.Shape}: every statement is
 * filtered by tenant, so another tenant's entry is simply not there.
 */
@Component
class RegistryStore {

    private final JdbcClient jdbc;

    RegistryStore(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** A stored entry: its id, content and version (the ETag). */
    record Entry<S>(String id, S spec, long version, Instant updatedAt, String updatedBy) {
    }

    <S> Optional<Entry<S>> find(Shapes.Shape<S> shape, String tenant, String id, boolean forUpdate) {
        if (!shape.validId(id)) {
            // An id the registry could never hold (or one PostgreSQL cannot even compare) names nothing.
            return Optional.empty();
        }
        return jdbc.sql("select * from " + shape.table + " where tenant_id = :tenant and " + key(shape)
                        + (forUpdate ? " for update" : ""))
                .param("tenant", tenant)
                .param("key", id)
                .query((rs, row) -> entry(shape, rs))
                .optional();
    }

    /** Up to {@code limit} entries with an id after {@code after}, in id order, matching every filter. */
    <S> List<Entry<S>> list(Shapes.Shape<S> shape, String tenant, String after, Map<String, String> filters, int limit) {
        StringBuilder sql = new StringBuilder("select * from " + shape.table + " where tenant_id = :tenant");
        Map<String, Object> params = new java.util.HashMap<>();
        params.put("tenant", tenant);
        if (after != null) {
            if (shape.uuidKey && !isUuid(after)) {
                return List.of();
            }
            sql.append(" and ").append(shape.keyColumn).append(shape.uuidKey ? " > cast(:after as uuid)" : " > :after");
            params.put("after", after);
        }
        int n = 0;
        for (Map.Entry<String, String> filter : filters.entrySet()) {
            Shapes.Filter definition = shape.filters().get(filter.getKey());
            String name = "filter" + n++;
            sql.append(" and ").append(definition.predicate().replace(":filter", ":" + name));
            params.put(name, definition.value().apply(filter.getValue()));
        }
        sql.append(" order by ").append(shape.keyColumn).append(" limit :limit");
        params.put("limit", limit);
        return jdbc.sql(sql.toString()).params(params).query((rs, row) -> entry(shape, rs)).list();
    }

    /** Every entry of the tenant (for a registry file's diff). */
    <S> List<Entry<S>> all(Shapes.Shape<S> shape, String tenant, boolean forUpdate) {
        return jdbc.sql("select * from " + shape.table + " where tenant_id = :tenant order by " + shape.keyColumn
                        + (forUpdate ? " for update" : ""))
                .param("tenant", tenant)
                .query((rs, row) -> entry(shape, rs))
                .list();
    }

    <S> Entry<S> insert(Shapes.Shape<S> shape, String tenant, String id, S spec, String actor, Instant at) {
        Map<String, Object> columns = shape.columns(spec);
        List<String> names = new ArrayList<>(columns.keySet());
        String sql = "insert into " + shape.table + " (tenant_id, " + shape.keyColumn + ", "
                + String.join(", ", names) + ", version, created_at, updated_at, updated_by) values (:tenant, "
                + (shape.uuidKey ? "cast(:key as uuid)" : ":key") + ", "
                + names.stream().map(name -> placeholder(name, columns.get(name))).collect(Collectors.joining(", "))
                + ", 1, :at, :at, :actor)";
        jdbc.sql(sql).params(params(columns)).param("tenant", tenant).param("key", id)
                .param("at", Timestamp.from(at)).param("actor", actor).update();
        return new Entry<>(id, spec, 1, at, actor);
    }

    <S> Entry<S> update(Shapes.Shape<S> shape, String tenant, Entry<S> current, S spec, String actor, Instant at) {
        Map<String, Object> columns = shape.columns(spec);
        String sql = "update " + shape.table + " set "
                + columns.keySet().stream().map(name -> name + " = " + placeholder(name, columns.get(name)))
                .collect(Collectors.joining(", "))
                + ", version = version + 1, updated_at = :at, updated_by = :actor where tenant_id = :tenant and "
                + key(shape) + " and version = :version";
        int updated = jdbc.sql(sql).params(params(columns)).param("tenant", tenant).param("key", current.id())
                .param("version", current.version()).param("at", Timestamp.from(at)).param("actor", actor).update();
        if (updated != 1) {
            throw new IllegalStateException("registry entry changed under its row lock");
        }
        return new Entry<>(current.id(), spec, current.version() + 1, at, actor);
    }

    void delete(Shapes.Shape<?> shape, String tenant, String id) {
        jdbc.sql("delete from " + shape.table + " where tenant_id = :tenant and " + key(shape))
                .param("tenant", tenant).param("key", id).update();
    }

    private static String key(Shapes.Shape<?> shape) {
        return shape.keyColumn + (shape.uuidKey ? " = cast(:key as uuid)" : " = :key");
    }

    private static String placeholder(String name, Object value) {
        return value instanceof Shapes.Json ? "cast(:" + name + " as jsonb)" : ":" + name;
    }

    private static Map<String, Object> params(Map<String, Object> columns) {
        Map<String, Object> params = new java.util.HashMap<>();
        columns.forEach((name, value) -> params.put(name, value instanceof Shapes.Json j ? j.text() : value));
        return params;
    }

    private static <S> Entry<S> entry(Shapes.Shape<S> shape, ResultSet rs) throws SQLException {
        return new Entry<>(rs.getString(shape.keyColumn), shape.read(rs), rs.getLong("version"),
                rs.getTimestamp("updated_at").toInstant(), rs.getString("updated_by"));
    }

    static boolean isUuid(String text) {
        try {
            return text != null && text.length() == 36 && UUID.fromString(text).toString().equals(text.toLowerCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
