package io.agentpdp.registry;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import jakarta.servlet.http.HttpServletRequest;

import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code GET /v1/registry/enforcement-points/self} (scope decide): the calling enforcement point's own manifest,
 * read-only. The enforcement point is the caller tenant's enabled one whose principal is the token's subject in
 * canonical form, as the decide path binds it; its agents are those it lists or selects by labels; each agent comes with its
 * allowed tools' registry facts. Every statement is filtered by the caller's tenant and that enforcement point,
 * so nothing about another enforcement point, agent or tenant can be read through it.
 */
@RestController
class SelfManifestController {

    private static final String SELF = "/v1/registry/enforcement-points/self";
    private static final Set<String> PARAMETERS = Set.of("agent", "limit", "after");
    private static final int DEFAULT_PAGE = 50;

    private final JdbcClient jdbc;
    private final JsonMapper json;

    SelfManifestController(JdbcClient jdbc, JsonMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    private record Agent(String id, boolean enabled, List<String> allowedTools) {
    }

    @GetMapping(path = SELF, produces = MediaType.APPLICATION_JSON_VALUE)
    ObjectNode self(Caller caller, @RequestParam Map<String, String> query) {
        for (String name : query.keySet()) {
            if (!PARAMETERS.contains(name)) {
                throw invalid("Unknown parameter '" + RegistryService.printable(name) + "'; this endpoint takes "
                        + "agent, limit and after.");
            }
        }
        String agent = agentId(query.get("agent"), "agent");
        String after = agentId(query.get("after"), "after");
        int limit = RegistryController.limit(query.get("limit"));
        record Point(UUID id, String principal) {
        }
        // The same match as the decide path's binding (DecisionContextLoader): the canonical subject.
        Point point = jdbc.sql("""
                        select id, principal from enforcement_point
                        where tenant_id = :tenant and enabled and principal = :subject""")
                .param("tenant", caller.tenant())
                .param("subject", caller.principal().subject())
                .query((rs, n) -> new Point(rs.getObject("id", UUID.class), rs.getString("principal")))
                .optional()
                .orElseThrow(() -> new Problems.ApiException(404, "Not found",
                        "No enabled enforcement point of this tenant is registered for the caller."));
        List<Agent> agents = jdbc.sql("""
                        select a.agent_id, a.enabled, a.allowed_tools
                        from enforcement_point ep
                        join agent a on a.tenant_id = ep.tenant_id
                         and (a.agent_id = any (ep.agent_ids)
                              or exists (select 1 from jsonb_array_elements(ep.agent_selectors) s where a.labels @> s.value))
                        where ep.tenant_id = :tenant and ep.id = :point
                          and (cast(:agent as text) is null or a.agent_id = :agent)
                          and (cast(:after as text) is null or a.agent_id > :after)
                        order by a.agent_id limit :limit""")
                .param("tenant", caller.tenant())
                .param("point", point.id())
                .param("agent", agent)
                .param("after", after)
                .param("limit", limit + 1)
                .query((rs, n) -> new Agent(rs.getString("agent_id"), rs.getBoolean("enabled"), Shapes.strings(rs.getArray("allowed_tools"))))
                .list();
        List<Agent> page = agents.subList(0, Math.min(limit, agents.size()));
        Map<String, ObjectNode> tools = tools(caller.tenant(), page);

        ObjectNode answer = json.createObjectNode();
        ObjectNode self = answer.putObject("enforcement_point");
        self.put("id", point.id().toString());
        self.put("principal", point.principal());
        ArrayNode items = answer.putArray("agents");
        for (Agent a : page) {
            ObjectNode item = items.addObject();
            item.put("id", a.id());
            item.put("enabled", a.enabled());
            ArrayNode registered = item.putArray("tools");
            ArrayNode unregistered = item.putArray("unregistered_tools");
            for (String tool : new LinkedHashSet<>(a.allowedTools())) {
                Optional.ofNullable(tools.get(tool)).ifPresentOrElse(registered::add, () -> unregistered.add(tool));
            }
        }
        answer.put("next_after", agents.size() > limit ? page.getLast().id() : null);
        return answer;
    }

    /** The registry facts of every tool the agents of {@code page} may use, by name (one query). */
    private Map<String, ObjectNode> tools(String tenant, List<Agent> page) {
        String[] names = page.stream().flatMap(a -> a.allowedTools().stream()).distinct().toArray(String[]::new);
        Map<String, ObjectNode> tools = new LinkedHashMap<>();
        if (names.length == 0) {
            return tools;
        }
        jdbc.sql("""
                        select name, target_system, action_kinds, risk_tier, read_only, destructive, argument_schema, version
                        from tool where tenant_id = :tenant and name = any (:names)""")
                .param("tenant", tenant)
                .param("names", names)
                .query(rs -> {
                    ObjectNode tool = json.createObjectNode();
                    tool.put("name", rs.getString("name"));
                    tool.put("target_system", rs.getString("target_system"));
                    ArrayNode kinds = tool.putArray("action_kinds");
                    Shapes.strings(rs.getArray("action_kinds")).forEach(kinds::add);
                    tool.put("risk_tier", rs.getString("risk_tier"));
                    tool.put("read_only", rs.getBoolean("read_only"));
                    tool.put("destructive", rs.getBoolean("destructive"));
                    String schema = rs.getString("argument_schema");
                    tool.set("argument_schema", schema == null ? json.nullNode() : json.readTree(schema));
                    tool.put("version", rs.getLong("version"));
                    tools.put(rs.getString("name"), tool);
                });
        return tools;
    }

    /** Only GET is served here; without these, PUT and DELETE would reach the entry mappings as id "self". */
    @RequestMapping(path = SELF, method = {RequestMethod.PUT, RequestMethod.DELETE})
    void methodNotAllowed(HttpServletRequest request) throws HttpRequestMethodNotSupportedException {
        throw new HttpRequestMethodNotSupportedException(request.getMethod(), List.of("GET"));
    }

    /** A query parameter name the firewall refuses (checked when the parameter map is first read) is bad input. */
    @ExceptionHandler(RequestRejectedException.class)
    ResponseEntity<ProblemDetail> rejected(RequestRejectedException e, HttpServletRequest request) {
        return RegistryController.rejectedParameter(request);
    }

    private static String agentId(String value, String parameter) {
        if (value != null && !value.matches(Registry.AGENT_ID)) {
            throw invalid("Parameter '" + parameter + "' " + Registry.AGENT_ID_MESSAGE + ".");
        }
        return value;
    }

    private static Problems.ApiException invalid(String detail) {
        return new Problems.ApiException(400, "Invalid request", detail);
    }
}
