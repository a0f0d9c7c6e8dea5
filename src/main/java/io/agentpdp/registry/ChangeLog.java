package io.agentpdp.registry;

import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

import com.google.common.hash.Hashing;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The registry's change log: who changed which entry, when, from what to what. Append-only for the
 * application role and hash-chained per tenant like the decision trail ({@code sha256(previous ||
 * content)} from {@code genesis}); PostgreSQL computes the link on write, {@link #verify} recomputes it.
 */
@Component
class ChangeLog {

    private static final String GENESIS = "genesis";

    private final JdbcClient jdbc;

    ChangeLog(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    enum Action { CREATE, REPLACE, DELETE }

    /** One change; {@code before} and {@code after} are the entry's JSON as served (null when absent). */
    record Change(Kind kind, String entryId, Action action, String actor, Instant at, String before, String after) {
    }

    record Link(long seq, String recordHash, Change change) {
    }

    /** The database's clock, to the microsecond it stores: the time of a change (call inside its transaction). */
    Instant now() {
        return jdbc.sql("select now()").query(Timestamp.class).single().toInstant().truncatedTo(ChronoUnit.MICROS);
    }

    /** Appends the change as the next link of the tenant's chain; runs in the caller's transaction. */
    void append(String tenant, Change change) {
        jdbc.sql("""
                with head as (
                    insert into registry_change_head as h (tenant_id, seq, last_hash)
                    values (:tenant, 1, encode(sha256(convert_to('genesis' || :content, 'UTF8')), 'hex'))
                    on conflict (tenant_id) do update
                    set seq = h.seq + 1, last_hash = encode(sha256(convert_to(h.last_hash || :content, 'UTF8')), 'hex')
                    returning seq, last_hash)
                insert into registry_change (tenant_id, seq, kind, entry_id, action, actor, at, before_json, after_json,
                    record_hash)
                select :tenant, head.seq, :kind, :entry, :action, :actor, :at, :before, :after, head.last_hash
                from head
                """)
                .param("tenant", tenant)
                .param("content", content(tenant, change))
                .param("kind", change.kind().wire())
                .param("entry", change.entryId())
                .param("action", change.action().name())
                .param("actor", change.actor())
                .param("at", Timestamp.from(change.at()))
                .param("before", change.before())
                .param("after", change.after())
                .update();
    }

    /** Up to {@code limit} links after sequence {@code afterSeq}, oldest first. */
    List<Link> list(String tenant, long afterSeq, int limit) {
        return jdbc.sql("select * from registry_change where tenant_id = :tenant and seq > :after order by seq limit :limit")
                .param("tenant", tenant)
                .param("after", afterSeq)
                .param("limit", limit)
                .query((rs, row) -> read(rs))
                .list();
    }

    Registry.ChangeLogVerification verify(String tenant) {
        try (Stream<Link> links = jdbc.sql("select * from registry_change where tenant_id = ? order by seq")
                .param(tenant)
                .query((rs, row) -> read(rs))
                .stream()) {
            String previous = GENESIS;
            long expected = 1;
            for (Iterator<Link> it = links.iterator(); it.hasNext(); ) {
                Link link = it.next();
                if (link.seq() != expected) {
                    return new Registry.ChangeLogVerification(expected - 1, false, expected,
                            "missing link: expected sequence " + expected + ", found " + link.seq());
                }
                String hash = sha256(previous + content(tenant, link.change()));
                if (!hash.equals(link.recordHash())) {
                    return new Registry.ChangeLogVerification(expected - 1, false, link.seq(),
                            "change content does not match its hash");
                }
                previous = hash;
                expected++;
            }
            return new Registry.ChangeLogVerification(expected - 1, true, null, null);
        }
    }

    /** Every field, unit-separated, nulls explicit: changing any of them breaks the link. */
    static String content(String tenant, Change c) {
        return String.join("\u001f", tenant, c.kind().wire(), c.entryId(), c.action().name(), c.actor(),
                c.at().toString(), Objects.toString(c.before(), "-"), Objects.toString(c.after(), "-"));
    }

    private static Link read(ResultSet rs) throws SQLException {
        Change change = new Change(Kind.fromWire(rs.getString("kind")), rs.getString("entry_id"),
                Action.valueOf(rs.getString("action")), rs.getString("actor"), rs.getTimestamp("at").toInstant(),
                rs.getString("before_json"), rs.getString("after_json"));
        return new Link(rs.getLong("seq"), rs.getString("record_hash"), change);
    }

    static String sha256(String value) {
        return Hashing.sha256().hashString(value, StandardCharsets.UTF_8).toString();
    }
}
