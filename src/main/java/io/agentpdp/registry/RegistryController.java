package io.agentpdp.registry;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.servlet.http.HttpServletRequest;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * /v1/registry/{agents,tools,systems,enforcement-points,classifications,credential-profiles}: create, replace, get, list,
 * delete, always in the caller's tenant (another tenant's entry is 404). registry-admin writes,
 * security-admin (and registry-admin) reads. Replace and delete need If-Match with the ETag.
 */
@RestController
class RegistryController {

    static final int MAX_PAGE = 200;
    // Spelled out (not one {collection} variable) so that the served operations are exactly openapi.yaml's.
    private static final String AGENTS = "/v1/registry/agents";
    private static final String TOOLS = "/v1/registry/tools";
    private static final String SYSTEMS = "/v1/registry/systems";
    private static final String ENFORCEMENT_POINTS = "/v1/registry/enforcement-points";
    private static final String CLASSIFICATIONS = "/v1/registry/classifications";
    private static final String PROFILES = "/v1/registry/credential-profiles";
    private static final String ENTRY = "/{id}";
    private static final int DEFAULT_PAGE = 50;

    private final RegistryService registry;
    private final Shapes shapes;
    private final ChangeLog changes;
    private final RegistryFiles files;

    RegistryController(RegistryService registry, Shapes shapes, ChangeLog changes, RegistryFiles files) {
        this.files = files;
        this.registry = registry;
        this.shapes = shapes;
        this.changes = changes;
    }

    @GetMapping(path = {AGENTS, TOOLS, SYSTEMS, ENFORCEMENT_POINTS, CLASSIFICATIONS, PROFILES}, produces = MediaType.APPLICATION_JSON_VALUE)
    ObjectNode list(Caller caller, HttpServletRequest request, @RequestParam Map<String, String> query) {
        Shapes.Shape<?> shape = shape(request);
        String collection = shape.collection;
        Map<String, String> filters = new LinkedHashMap<>(query);
        int limit = limit(filters.remove("limit"));
        String after = filters.remove("after");
        for (Map.Entry<String, String> parameter : query.entrySet()) {
            if (parameter.getValue().codePoints().anyMatch(Character::isISOControl) || parameter.getValue().length() > 512) {
                throw new Problems.ApiException(400, "Invalid request", "Parameter '" + RegistryService.printable(parameter.getKey())
                        + "' must be at most 512 characters without control characters.");
            }
        }
        for (String name : filters.keySet()) {
            if (!shape.filters().containsKey(name)) {
                throw new Problems.ApiException(400, "Invalid request", "Unknown parameter '" + RegistryService.printable(name)
                        + "'; " + collection + " filters by " + (shape.filters().isEmpty() ? "nothing" : shape.filters().keySet()) + ".");
            }
        }
        List<? extends RegistryStore.Entry<?>> entries = registry.list(shape, caller.tenant(), after, filters, limit + 1);
        ObjectNode page = registry.jsonObject();
        ArrayNode items = page.putArray("items");
        entries.stream().limit(limit).forEach(entry -> items.add(registry.view(shape, entry)));
        page.put("next_after", entries.size() > limit ? entries.get(limit - 1).id() : null);
        return page;
    }

    @GetMapping(path = {AGENTS + ENTRY, TOOLS + ENTRY, SYSTEMS + ENTRY, ENFORCEMENT_POINTS + ENTRY, CLASSIFICATIONS + ENTRY, PROFILES + ENTRY}, produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<ObjectNode> get(Caller caller, HttpServletRequest request, @PathVariable String id) {
        Shapes.Shape<?> shape = shape(request);
        return answer(HttpStatus.OK, shape, registry.get(shape, caller.tenant(), id));
    }

    @PostMapping(path = {AGENTS, TOOLS, SYSTEMS, ENFORCEMENT_POINTS, CLASSIFICATIONS, PROFILES}, consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<ObjectNode> create(Caller caller, HttpServletRequest request, @RequestBody JsonNode body) {
        Shapes.Shape<?> shape = shape(request);
        return created(caller, shape, body);
    }

    private <S> ResponseEntity<ObjectNode> created(Caller caller, Shapes.Shape<S> shape, JsonNode body) {
        S spec = registry.parse(shape, body, "");
        RegistryStore.Entry<S> entry = registry.create(shape, caller.tenant(), spec, caller.subject());
        return answer(HttpStatus.CREATED, shape, entry);
    }

    @PutMapping(path = {AGENTS + ENTRY, TOOLS + ENTRY, SYSTEMS + ENTRY, ENFORCEMENT_POINTS + ENTRY, CLASSIFICATIONS + ENTRY, PROFILES + ENTRY}, consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<ObjectNode> replace(Caller caller, HttpServletRequest request, @PathVariable String id,
                                       @RequestHeader(name = "If-Match", required = false) String ifMatch,
                                       @RequestBody JsonNode body) {
        Shapes.Shape<?> shape = shape(request);
        return replaced(caller, shape, id, ifMatch, body);
    }

    private <S> ResponseEntity<ObjectNode> replaced(Caller caller, Shapes.Shape<S> shape, String id, String ifMatch,
                                                    JsonNode body) {
        S spec = registry.parse(shape, body, "");
        return answer(HttpStatus.OK, shape, registry.replace(shape, caller.tenant(), id, spec, ifMatch, caller.subject()));
    }

    @DeleteMapping(path = {AGENTS + ENTRY, TOOLS + ENTRY, SYSTEMS + ENTRY, ENFORCEMENT_POINTS + ENTRY, CLASSIFICATIONS + ENTRY, PROFILES + ENTRY}, produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<Void> delete(Caller caller, HttpServletRequest request, @PathVariable String id,
                                @RequestHeader(name = "If-Match", required = false) String ifMatch) {
        registry.delete(shape(request), caller.tenant(), id, ifMatch, caller.subject());
        return ResponseEntity.noContent().build();
    }

    /** Applies a declarative registry file (YAML or JSON); see {@link RegistryFiles}. */
    @PostMapping(path = "/v1/registry/apply", consumes = {"application/yaml", MediaType.APPLICATION_JSON_VALUE},
            produces = MediaType.APPLICATION_JSON_VALUE)
    ObjectNode apply(Caller caller, @RequestParam(name = "dry_run", required = false) String dryRun,
                     @RequestParam(name = "prune", required = false) String prune,
                     @RequestHeader(name = "Content-Type") String contentType, @RequestBody String body) {
        boolean yaml = MediaType.parseMediaType(contentType).isCompatibleWith(MediaType.parseMediaType("application/yaml"));
        return files.apply(caller.tenant(), caller.subject(), body, yaml, flag("dry_run", dryRun), flag("prune", prune));
    }

    private static boolean flag(String name, String value) {
        if (value == null || value.equals("false")) {
            return false;
        }
        if (value.equals("true")) {
            return true;
        }
        throw new Problems.ApiException(400, "Invalid request", "Parameter '" + name + "' must be true or false.");
    }

    /** The tenant's change log, oldest first, paged by sequence number. */
    @GetMapping(path = "/v1/registry/changes", produces = MediaType.APPLICATION_JSON_VALUE)
    ObjectNode changes(Caller caller, @RequestParam(name = "after", required = false) Long after,
                       @RequestParam(name = "limit", required = false) String limit) {
        int size = limit(limit);
        if (after != null && after < 0) {
            throw new Problems.ApiException(400, "Invalid request", "Parameter 'after' must be a sequence number (0 or more).");
        }
        List<ChangeLog.Link> links = changes.list(caller.tenant(), after == null ? 0 : after, size + 1);
        ObjectNode page = registry.jsonObject();
        ArrayNode items = page.putArray("items");
        links.stream().limit(size).forEach(link -> items.add(registry.changeView(link)));
        page.put("next_after", links.size() > size ? String.valueOf(links.get(size - 1).seq()) : null);
        return page;
    }

    /**
     * The firewall checks parameter names only when they are first read (here, by the list's parameter
     * map): a name it refuses is bad input, not a server error.
     */
    @ExceptionHandler(RequestRejectedException.class)
    ResponseEntity<ProblemDetail> rejected(RequestRejectedException e, HttpServletRequest request) {
        return rejectedParameter(request);
    }

    static ResponseEntity<ProblemDetail> rejectedParameter(HttpServletRequest request) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST,
                "The request was rejected: a query parameter name is not allowed.");
        problem.setTitle("Invalid request");
        problem.setInstance(java.net.URI.create(request.getRequestURI()));
        return ResponseEntity.badRequest().contentType(MediaType.APPLICATION_PROBLEM_JSON).body(problem);
    }

    /** The collection a request addresses: the path segment after /v1/registry/. */
    private Shapes.Shape<?> shape(HttpServletRequest request) {
        String[] segments = request.getRequestURI().split("/");
        return shapes.byCollection(segments.length > 3 ? segments[3] : "");
    }

    static int limit(String value) {
        if (value == null) {
            return DEFAULT_PAGE;
        }
        try {
            int limit = Integer.parseInt(value);
            if (limit >= 1 && limit <= MAX_PAGE) {
                return limit;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw new Problems.ApiException(400, "Invalid request", "Parameter 'limit' must be an integer from 1 to " + MAX_PAGE + ".");
    }

    private ResponseEntity<ObjectNode> answer(HttpStatus status, Shapes.Shape<?> shape, RegistryStore.Entry<?> entry) {
        return ResponseEntity.status(status).eTag(RegistryService.etag(entry.version()))
                .contentType(MediaType.APPLICATION_JSON).body(registry.view(shape, entry));
    }
}
