package io.agentpdp.jdbc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.springframework.jdbc.core.namedparam.AbstractSqlParameterSource;
import org.springframework.jdbc.core.namedparam.NamedParameterUtils;
import org.springframework.jdbc.core.namedparam.ParsedSql;

/**
 * A statement written with named parameters ({@code :tenant}), parsed once by Spring's own parser into JDBC's
 * positional form. A statement on the decision path runs hundreds of times a second; binding by name through
 * {@code JdbcClient} re-derived the positional SQL and a parameter list on every call (about a twentieth of the
 * PDP's CPU per decision). Use: {@code jdbc.sql(S.sql()).params(S.bind().set("tenant", t) ... .values())}.
 */
public final class NamedStatement {

    private final String sql;
    private final int size;
    private final Map<String, int[]> positions;

    private NamedStatement(String sql, List<String> order) {
        this.sql = sql;
        this.size = order.size();
        Map<String, List<Integer>> at = new HashMap<>();
        for (int i = 0; i < order.size(); i++) {
            at.computeIfAbsent(order.get(i), k -> new ArrayList<>()).add(i);
        }
        Map<String, int[]> positions = new HashMap<>();
        at.forEach((name, list) -> positions.put(name, list.stream().mapToInt(Integer::intValue).toArray()));
        this.positions = Map.copyOf(positions);
    }

    public static NamedStatement parse(String namedSql) {
        ParsedSql parsed = NamedParameterUtils.parseSqlStatement(namedSql);
        // The parser's own order of occurrences: each value stands for its name.
        Object[] names = NamedParameterUtils.buildValueArray(parsed, new AbstractSqlParameterSource() {
            @Override
            public boolean hasValue(String name) {
                return true;
            }

            @Override
            public Object getValue(String name) {
                return name;
            }
        }, null);
        List<String> order = Arrays.stream(names).map(String.class::cast).toList();
        return new NamedStatement(NamedParameterUtils.substituteNamedParameters(parsed, null), order);
    }

    /** The statement with {@code ?} in place of each named parameter. */
    public String sql() {
        return sql;
    }

    public Binding bind() {
        return new Binding();
    }

    /** The values of one execution; every name must be set once (a missing one is a programming error). */
    public final class Binding {
        private final Object[] values = new Object[size];
        private final boolean[] set = new boolean[size];

        private Binding() {
        }

        public Binding set(String name, Object value) {
            int[] at = positions.get(name);
            if (at == null) {
                throw new IllegalArgumentException("The statement has no parameter :" + name);
            }
            for (int i : at) {
                values[i] = value;
                set[i] = true;
            }
            return this;
        }

        /** The positional values, in the statement's order. */
        public Object[] values() {
            for (int i = 0; i < size; i++) {
                if (!set[i]) {
                    throw new IllegalStateException("Parameter " + (i + 1) + " of the statement is not set");
                }
            }
            return Arrays.copyOf(values, size);
        }
    }
}
