package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import com.networknt.schema.Error;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import io.agentpdp.credential.CredentialProfile;
import io.agentpdp.identity.WorkloadIdentities;
import io.agentpdp.registry.Registry;
import io.agentpdp.security.Caller;
import io.agentpdp.security.Principal;

/**
 * The input document the PDP writes for policy ({@link PolicyInput}) is the one policies/schemas/input.json
 * describes, against which {@code opa check --strict} types every input reference of the Rego: every field of the
 * right type and no field the schema does not name (it is closed everywhere). Two shapes: an unregistered agent
 * (every registry fact absent or null) and a registered tool with a credential profile, a verified workload identity,
 * a held credential, an unknown approval and free-form arguments and context.
 */
class PolicyInputSchemaTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Caller CALLER = new Caller("gateway-1", "acme", Set.of("decide", "approver"),
            new Principal("https://issuer.example", "gateway-1"));

    private static JsonNode written(DecisionState s) throws Exception {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            PolicyInput.of(s, null).write(g);
        }
        return JSON.readTree(out.toString());
    }

    private static List<String> violations(JsonNode input) throws Exception {
        var schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7,
                        builder -> builder.schemaLoader(loader -> loader.fetchRemoteResources(false)))
                .getSchema(JSON.readTree(Files.readString(Path.of("policies/schemas/input.json"))));
        return schema.validate(input).stream().map(Error::toString).toList();
    }

    private static DecisionRequest request(UUID approval, UUID held, JsonNode arguments, Map<String, Object> context) {
        return new DecisionRequest("acme", new DecisionRequest.Agent("kb-reader", null),
                new DecisionRequest.Task("task-1", "read one contact", 2, null), "crm.contacts.read",
                Registry.ActionKind.READ, new DecisionRequest.Target("CRM", "Contacts/42"), Classification.INTERNAL,
                approval, held == null ? null : new DecisionRequest.HeldCredential(held), arguments, context, null);
    }

    private static DecisionState state(DecisionRequest request, DecisionContext context,
                                       WorkloadIdentities.Verification identity) {
        DecisionState s = new DecisionState(CALLER, request, UUID.randomUUID());
        s.target = new Registry.Target("CRM", "Contacts/42", "crm", "contacts/42");
        s.context = context;
        s.identity = identity;
        s.chain = DecisionState.Chain.derive(request.task(), context.parent());
        s.effective = Classification.CONFIDENTIAL;
        return s;
    }

    @Test
    void anUnregisteredAgentsInputIsTheSchemasShape() throws Exception {
        DecisionContext nothing = new DecisionContext(false, false, null, List.of(), List.of(), null, List.of(), null,
                null, false, false, null, null, null, null, null, 0, 0, Instant.now());
        JsonNode input = written(state(request(null, null, null, null), nothing,
                new WorkloadIdentities.Verification(false, false, null, null, WorkloadIdentities.Reason.MISSING)));

        assertThat(violations(input)).isEmpty();
        assertThat(input.at("/tool/registered").asBoolean(true)).isFalse();
        assertThat(input.at("/agent/max_chain_depth").isNull()).isTrue();
        assertThat(input.at("/agent/workload_identity/reason").asString()).isEqualTo("missing");
        assertThat(input.path("held_credential").isNull()).isTrue();
        assertThat(input.path("approval").isNull()).isTrue();
    }

    @Test
    void aRegisteredToolsInputWithEveryFactIsTheSchemasShape() throws Exception {
        CredentialProfile profile = new CredentialProfile("reader", CredentialProfile.Kind.TOKEN, List.of("crm-read"),
                true, null, null, Duration.ofMinutes(5), 10, true);
        DecisionContext.Tool tool = new DecisionContext.Tool("crm", List.of("read"), "low", true, false, 3, null,
                "reader", profile);
        UUID heldDecision = UUID.randomUUID();
        DecisionContext.HeldCredential held = new DecisionContext.HeldCredential(heldDecision, "task-1",
                List.of("tenant.acme.crm-read"), true, 120, Instant.now().plusSeconds(120), 9, true, true, "hash");
        DecisionContext full = new DecisionContext(true, true, "alice", List.of("crm.contacts.read", "db.query"),
                List.of("crm"), 4, List.of("spiffe://example.org/kb-reader"), tool, "crm", false, false,
                Classification.CONFIDENTIAL, null, held, null, null, 1, 7, Instant.now());
        JsonNode arguments = JSON.readTree("{\"id\": 42, \"fields\": [\"name\", \"email\"]}");
        JsonNode input = written(state(request(UUID.randomUUID(), heldDecision, arguments, Map.of("session", "s-1")), full,
                new WorkloadIdentities.Verification(true, true, "spiffe://example.org/kb-reader", "example.org", null)));

        assertThat(violations(input)).isEmpty();
        assertThat(input.at("/caller/scopes")).hasSize(2);
        assertThat(input.at("/agent/allowed_tools").get(1).asString()).isEqualTo("db.query");
        assertThat(input.at("/agent/max_chain_depth").asInt()).isEqualTo(4);
        assertThat(input.at("/agent/workload_identity/verified").asBoolean()).isTrue();
        assertThat(input.at("/task/declared_chain_depth").asInt()).isEqualTo(2);
        assertThat(input.at("/tool/action_kinds").get(0).asString()).isEqualTo("read");
        assertThat(input.at("/tool/credential_profile/grantable").get(0).asString()).isEqualTo("tenant.acme.crm-read");
        assertThat(input.at("/tool/credential_profile/max_ttl_seconds").asLong()).isEqualTo(300);
        assertThat(input.at("/tool/credential_profile/max_uses").asInt()).isEqualTo(10);
        assertThat(input.at("/held_credential/policies").get(0).asString()).isEqualTo("tenant.acme.crm-read");
        assertThat(input.at("/approval/status").asString()).isEqualTo("UNKNOWN");
        assertThat(input.at("/arguments/fields")).hasSize(2);
        assertThat(input.at("/context/session").asString()).isEqualTo("s-1");
    }
}
