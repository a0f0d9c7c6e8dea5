package io.agentpdp.registry;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

import io.agentpdp.web.Problems;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The GitOps path: a declarative registry file (YAML or JSON, openapi.yaml RegistryDocument) is made
 * the tenant's registry, idempotently. Entries are matched by their natural key; missing ones are created,
 * different ones replaced, equal ones left alone, and with {@code prune} the unnamed ones of a listed kind
 * deleted. All in one transaction (or none, on a dry run), each change in the change log.
 */
@Component
class RegistryFiles {

    private static final Map<String, String> SECTIONS = Map.of(
            "systems", "systems", "tools", "tools", "agents", "agents",
            "enforcement_points", "enforcement-points", "classifications", "classifications",
            "credential_profiles", "credential-profiles");

    private final RegistryService registry;
    private final RegistryStore store;
    private final Shapes shapes;
    private final ChangeLog changes;
    private final JdbcClient jdbc;
    private final JsonMapper json;
    private final int maxBytes;

    RegistryFiles(RegistryService registry, RegistryStore store, Shapes shapes, ChangeLog changes, JdbcClient jdbc,
                  JsonMapper json, @org.springframework.beans.factory.annotation.Value("${pdp.web.max-body-size:64KB}")
                  org.springframework.util.unit.DataSize maxBodySize) {
        this.registry = registry;
        this.store = store;
        this.shapes = shapes;
        this.changes = changes;
        this.jdbc = jdbc;
        this.json = json;
        this.maxBytes = (int) Math.min(Integer.MAX_VALUE, maxBodySize.toBytes());
    }

    /** One planned change: a create (no current), a replace (both) or a delete (no spec). */
    private record Step<S>(Shapes.Shape<S> shape, String key, RegistryStore.Entry<S> current, S spec) {
    }

    ObjectNode apply(String tenant, String actor, String body, boolean yaml, boolean dryRun, boolean prune) {
        JsonNode document = parse(body, yaml);
        if (!(document instanceof ObjectNode file)) {
            throw invalid("The registry file must be a mapping (systems, tools, agents, enforcement_points, classifications, credential_profiles).");
        }
        for (String field : file.propertyNames()) {
            if (!SECTIONS.containsKey(field) && !field.equals("tenant")) {
                throw invalid("Unknown section '" + RegistryService.printable(field) + "'; a registry file has tenant, "
                        + "systems, tools, agents, enforcement_points, classifications and credential_profiles.");
            }
        }
        JsonNode named = file.get("tenant");
        if (named != null && !(named.isString() && named.asString().equals(tenant))) {
            throw invalid("The file is for tenant " + named + "; the token's tenant is '" + tenant + "'.");
        }
        Map<Shapes.Shape<?>, List<?>> desired = new LinkedHashMap<>();
        for (Shapes.Shape<?> shape : shapes.all) {
            String section = section(shape);
            JsonNode list = file.get(section);
            if (list == null || list.isNull()) {
                continue;
            }
            if (!list.isArray()) {
                throw invalid("'" + section + "' must be a list.");
            }
            desired.put(shape, specs(shape, section, list));
        }
        return registry.write(() -> {
            // One apply per tenant at a time; the rows it reads are locked against concurrent single writes.
            jdbc.sql("select pg_advisory_xact_lock(hashtext(:key))").param("key", "registry-apply:" + tenant).query().listOfRows();
            List<Step<?>> plan = new ArrayList<>();
            int unchanged = 0;
            for (Map.Entry<Shapes.Shape<?>, List<?>> entry : desired.entrySet()) {
                unchanged += plan(entry.getKey(), tenant, entry.getValue(), prune, plan);
            }
            ObjectNode result = json.createObjectNode();
            result.put("dry_run", dryRun);
            result.put("unchanged", unchanged);
            ArrayNode list = result.putArray("changes");
            java.time.Instant at = dryRun ? null : changes.now();
            for (Step<?> step : plan) {
                list.add(execute(step, tenant, actor, at, dryRun));
            }
            return result;
        });
    }

    private <S> List<S> specs(Shapes.Shape<S> shape, String section, JsonNode list) {
        List<S> specs = new ArrayList<>();
        Set<String> keys = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            S spec = registry.parse(shape, list.get(i), section + "[" + i + "].");
            if (!keys.add(shape.naturalKey(spec))) {
                throw invalid(section + "[" + i + "] names '" + RegistryService.printable(shape.naturalKey(spec))
                        + "' a second time.");
            }
            specs.add(spec);
        }
        return specs;
    }

    @SuppressWarnings("unchecked")
    private <S> int plan(Shapes.Shape<S> shape, String tenant, List<?> wanted, boolean prune, List<Step<?>> plan) {
        Map<String, RegistryStore.Entry<S>> existing = new LinkedHashMap<>();
        for (RegistryStore.Entry<S> entry : store.all(shape, tenant, true)) {
            existing.put(shape.naturalKey(entry.spec()), entry);
        }
        int unchanged = 0;
        for (Object object : wanted) {
            S spec = (S) object;
            String key = shape.naturalKey(spec);
            RegistryStore.Entry<S> current = existing.remove(key);
            if (current == null || !current.spec().equals(spec)) {
                plan.add(new Step<>(shape, key, current, spec));
            } else {
                unchanged++;
            }
        }
        if (prune) {
            existing.forEach((key, entry) -> plan.add(new Step<>(shape, key, entry, null)));
        }
        return unchanged;
    }

    private <S> ObjectNode execute(Step<S> step, String tenant, String actor, java.time.Instant at, boolean dryRun) {
        Shapes.Shape<S> shape = step.shape();
        ObjectNode change = json.createObjectNode();
        change.put("kind", shape.kind.wire());
        change.put("key", step.key());
        if (step.current() == null) {
            change.put("action", "CREATE");
            change.putNull("before");
            change.set("after", json.valueToTree(step.spec()));
            if (!dryRun) {
                String id = shape.uuidKey ? java.util.UUID.randomUUID().toString() : shape.id(step.spec());
                registry.created(shape, tenant, id, step.spec(), actor, at);
            }
        } else if (step.spec() == null) {
            change.put("action", "DELETE");
            change.set("before", json.valueToTree(step.current().spec()));
            change.putNull("after");
            if (!dryRun) {
                registry.deleted(shape, tenant, step.current(), actor, at);
            }
        } else {
            change.put("action", "REPLACE");
            ArrayNode fields = change.putArray("fields");
            registry.changedFields(step.current().spec(), step.spec()).forEach(fields::add);
            change.set("before", json.valueToTree(step.current().spec()));
            change.set("after", json.valueToTree(step.spec()));
            if (!dryRun) {
                registry.replaced(shape, tenant, step.current(), step.spec(), actor, at);
            }
        }
        return change;
    }

    private JsonNode parse(String body, boolean yaml) {
        if (body == null || body.isBlank()) {
            throw invalid("The registry file is empty.");
        }
        try {
            if (!yaml) {
                return json.readTree(body);
            }
            LoaderOptions options = new LoaderOptions();
            options.setAllowDuplicateKeys(false);
            options.setMaxAliasesForCollections(0);
            options.setNestingDepthLimit(32);
            options.setCodePointLimit(maxBytes);
            Object loaded = new Yaml(new SafeConstructor(options)).load(body);
            return json.valueToTree(loaded);
        } catch (YAMLException | JacksonException | IllegalArgumentException e) {
            String message = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            throw invalid("The registry file does not parse as " + (yaml ? "YAML" : "JSON") + ": "
                    + RegistryService.printable(message));
        }
    }

    private static String section(Shapes.Shape<?> shape) {
        return SECTIONS.entrySet().stream().filter(e -> e.getValue().equals(shape.collection)).findFirst().orElseThrow().getKey();
    }

    private static Problems.ApiException invalid(String detail) {
        return new Problems.ApiException(400, "Invalid registry file", detail);
    }
}
