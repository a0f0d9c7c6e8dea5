package io.agentpdp.registry;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

import jakarta.validation.ConstraintViolation;
import jakarta.validation.Validator;

import org.springframework.dao.DuplicateKeyException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

import io.agentpdp.web.Problems;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Registry writes: validated, versioned (a write names the version it replaces, else 412), and each in
 * one transaction with its change-log link, so no change is unrecorded and no record lacks its change.
 */
@Service
class RegistryService {

    private final RegistryStore store;
    private final ChangeLog changes;
    private final TransactionTemplate transactions;
    private final Validator validator;
    private final JsonMapper json;
    private final io.agentpdp.security.Principals principals;

    RegistryService(RegistryStore store, ChangeLog changes, TransactionTemplate transactions, Validator validator,
                    JsonMapper json, io.agentpdp.security.Principals principals) {
        this.principals = principals;
        this.store = store;
        this.changes = changes;
        this.transactions = transactions;
        this.validator = validator;
        this.json = json;
    }

    /** The entry as served: its content, its id, version and who last changed it when. */
    ObjectNode view(Shapes.Shape<?> shape, RegistryStore.Entry<?> entry) {
        ObjectNode node = json.createObjectNode();
        if (shape.uuidKey) {
            node.put("id", entry.id());
        }
        node.setAll((ObjectNode) json.valueToTree(entry.spec()));
        node.put("version", entry.version());
        node.put("updated_at", entry.updatedAt().toString());
        node.put("updated_by", entry.updatedBy());
        return node;
    }

    /** The body of a create or replace as an entry of {@code shape}, validated. */
    <S> S parse(Shapes.Shape<S> shape, JsonNode body, String path) {
        S spec;
        try {
            // An enum is its name, never its ordinal ("level": 0 is not "public").
            spec = json.readerFor(shape.type).with(tools.jackson.databind.cfg.EnumFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                    .readValue(body);
        } catch (tools.jackson.core.JacksonException e) {
            throw new Problems.ApiException(400, "Invalid registry entry", path + e.getOriginalMessage());
        }
        validate(spec, path);
        return shape.normalized(spec);
    }

    private void validate(Object spec, String path) {
        if (spec == null) {
            throw new Problems.ApiException(400, "Invalid registry entry", path + "the entry must be a JSON object.");
        }
        Map<String, String> problems = new TreeMap<>();
        Set<ConstraintViolation<Object>> violations = validator.validate(spec);
        for (ConstraintViolation<Object> violation : violations) {
            problems.put(snakeCase(violation.getPropertyPath().toString()), violation.getMessage());
        }
        Specs.problems(spec).forEach(problems::putIfAbsent);
        if (spec instanceof Specs.EnforcementPoint point && point.principal() != null) {
            principalProblem(point.principal()).ifPresent(problem -> problems.putIfAbsent("principal", problem));
        }
        if (!problems.isEmpty()) {
            List<String> messages = problems.entrySet().stream().map(e -> path + e.getKey() + " " + e.getValue()).toList();
            throw new Problems.ApiException(400, "Invalid registry entry",
                    problems.size() + " field(s) failed validation: " + messages);
        }
    }

    /**
     * An enforcement point's principal is the subject of the {@code decide} tokens it calls with (they all come
     * from the PDP's issuer), in the canonical form the decision compares ({@link io.agentpdp.security.Principal}:
     * NFC, case-folded for a case-insensitive issuer). Refused, never repaired, when it is not.
     */
    private java.util.Optional<String> principalProblem(String principal) {
        try {
            String canonical = principals.local(principal).subject();
            return canonical.equals(principal) ? java.util.Optional.empty()
                    : java.util.Optional.of("must be given in canonical form: '" + canonical + "'");
        } catch (IllegalArgumentException e) {
            return java.util.Optional.of("is not a principal: " + e.getMessage());
        }
    }

    ObjectNode jsonObject() {
        return json.createObjectNode();
    }

    List<? extends RegistryStore.Entry<?>> list(Shapes.Shape<?> shape, String tenant, String after,
                                                Map<String, String> filters, int limit) {
        return store.list(shape, tenant, after, filters, limit);
    }

    /** One change-log link as served; before and after are the entry's JSON as it was then. */
    ObjectNode changeView(ChangeLog.Link link) {
        ChangeLog.Change change = link.change();
        ObjectNode node = json.createObjectNode();
        node.put("seq", link.seq());
        node.put("kind", change.kind().wire());
        node.put("entry_id", change.entryId());
        node.put("action", change.action().name());
        node.put("actor", change.actor());
        node.put("at", change.at().toString());
        node.set("before", change.before() == null ? json.nullNode() : json.readTree(change.before()));
        node.set("after", change.after() == null ? json.nullNode() : json.readTree(change.after()));
        node.put("record_hash", link.recordHash());
        return node;
    }

    <S> RegistryStore.Entry<S> get(Shapes.Shape<S> shape, String tenant, String id) {
        return store.find(shape, tenant, id, false).orElseThrow(() -> notFound(shape, id));
    }

    <S> RegistryStore.Entry<S> create(Shapes.Shape<S> shape, String tenant, S spec, String actor) {
        return write(() -> {
            String id = shape.uuidKey ? UUID.randomUUID().toString() : shape.id(spec);
            if (!shape.uuidKey && store.find(shape, tenant, id, true).isPresent()) {
                throw new Problems.ApiException(409, "Conflict", "The " + shape.kind.wire() + " '" + id
                        + "' is already registered; replace it with PUT and If-Match.");
            }
            return created(shape, tenant, id, spec, actor, changes.now());
        });
    }

    <S> RegistryStore.Entry<S> replace(Shapes.Shape<S> shape, String tenant, String id, S spec, String ifMatch,
                                       String actor) {
        if (!shape.uuidKey && !id.equals(shape.id(spec))) {
            throw new Problems.ApiException(400, "Invalid registry entry",
                    "The entry's id must equal the id in the path ('" + id + "'); ids are not renamed.");
        }
        return write(() -> {
            RegistryStore.Entry<S> current = store.find(shape, tenant, id, true).orElseThrow(() -> notFound(shape, id));
            checkVersion(current, ifMatch);
            return replaced(shape, tenant, current, spec, actor, changes.now());
        });
    }

    void delete(Shapes.Shape<?> shape, String tenant, String id, String ifMatch, String actor) {
        write(() -> {
            RegistryStore.Entry<?> current = store.find(shape, tenant, id, true).orElseThrow(() -> notFound(shape, id));
            checkVersion(current, ifMatch);
            deleted(shape, tenant, current, actor, changes.now());
            return null;
        });
    }

    <S> RegistryStore.Entry<S> created(Shapes.Shape<S> shape, String tenant, String id, S spec, String actor, Instant at) {
        RegistryStore.Entry<S> entry = store.insert(shape, tenant, id, spec, actor, at);
        changes.append(tenant, new ChangeLog.Change(shape.kind, id, ChangeLog.Action.CREATE, actor, at, null,
                text(shape, entry)));
        return entry;
    }

    /** Replaces the entry; an identical one is left as it is (no new version, no change recorded). */
    <S> RegistryStore.Entry<S> replaced(Shapes.Shape<S> shape, String tenant, RegistryStore.Entry<S> current, S spec,
                                        String actor, Instant at) {
        if (current.spec().equals(spec)) {
            return current;
        }
        RegistryStore.Entry<S> entry = store.update(shape, tenant, current, spec, actor, at);
        changes.append(tenant, new ChangeLog.Change(shape.kind, current.id(), ChangeLog.Action.REPLACE, actor, at,
                text(shape, current), text(shape, entry)));
        return entry;
    }

    void deleted(Shapes.Shape<?> shape, String tenant, RegistryStore.Entry<?> current, String actor, Instant at) {
        store.delete(shape, tenant, current.id());
        changes.append(tenant, new ChangeLog.Change(shape.kind, current.id(), ChangeLog.Action.DELETE, actor, at,
                text(shape, current), null));
    }

    /** Runs a registry write in one transaction; a unique-key clash (same principal, same prefix) is a 409. */
    <T> T write(java.util.function.Supplier<T> work) {
        try {
            return transactions.execute(status -> work.get());
        } catch (DuplicateKeyException e) {
            throw new Problems.ApiException(409, "Conflict",
                    "An entry with the same principal, or the same system and resource prefix, is already registered.");
        }
    }

    private String text(Shapes.Shape<?> shape, RegistryStore.Entry<?> entry) {
        return json.writeValueAsString(view(shape, entry));
    }

    private static void checkVersion(RegistryStore.Entry<?> current, String ifMatch) {
        if (ifMatch == null || ifMatch.isBlank()) {
            throw new Problems.ApiException(428, "Precondition required",
                    "Send If-Match with the entry's ETag (from GET) so that a concurrent change is not overwritten.");
        }
        if (ifMatch.trim().equals("*")) {
            return;
        }
        for (String tag : ifMatch.split(",")) {
            if (tag.trim().equals(etag(current.version()))) {
                return;
            }
        }
        throw new Problems.ApiException(412, "Precondition failed", "The entry has changed since that ETag (now "
                + etag(current.version()) + "); read it again and reapply the change.");
    }

    static String etag(long version) {
        return "\"" + version + "\"";
    }

    private static Problems.ApiException notFound(Shapes.Shape<?> shape, String id) {
        return new Problems.ApiException(404, "Not found", "No " + shape.kind.wire().replace('_', ' ')
                + " '" + printable(id) + "' in this tenant's registry.");
    }

    static String printable(String text) {
        String clean = text.replaceAll("[\\p{Cntrl}\\p{Cf}]", "?");
        return clean.length() > 200 ? clean.substring(0, 200) + "..." : clean;
    }

    /** Field paths in messages use the wire names (snake_case), not Java's. */
    static String snakeCase(String path) {
        return path.replaceAll("<[^>]*>", "").replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
    }

    /** Changed top-level fields between two entries of one kind, for a readable diff. */
    List<String> changedFields(Object before, Object after) {
        ObjectNode a = json.valueToTree(before);
        ObjectNode b = json.valueToTree(after);
        List<String> fields = new ArrayList<>();
        Map<String, JsonNode> all = new LinkedHashMap<>();
        a.properties().forEach(e -> all.put(e.getKey(), e.getValue()));
        b.properties().forEach(e -> all.putIfAbsent(e.getKey(), e.getValue()));
        for (String field : all.keySet()) {
            if (!java.util.Objects.equals(a.get(field), b.get(field))) {
                fields.add(field);
            }
        }
        return fields;
    }
}
