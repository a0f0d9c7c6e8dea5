package io.agentpdp.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import tools.jackson.databind.json.JsonMapper;

/**
 * Onboards a test tenant in the stack's OpenBao exactly as scripts/stack/tenant-layout.sh does (the same
 * policy and role files under scripts/stack/openbao/): policies {@code tenant.<tenant>.*} and the token role
 * {@code agent-pdp.<tenant>}. The database part (schemas, database roles) exists for the reference tenants
 * {@code demo} and {@code acme} that scripts/stack/start.sh onboards.
 */
public final class TenantLayout {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Set<String> ONBOARDED = ConcurrentHashMap.newKeySet();

    private TenantLayout() {
    }

    /**
     * Onboards {@code tenant} once per JVM (idempotent in OpenBao as well). A tenant that cannot name OpenBao
     * objects (scripts/stack/tenant-layout.sh refuses it too) is left alone: nothing can be minted for it.
     */
    public static void onboard(String tenant) {
        if (ONBOARDED.contains(tenant) || !tenant.matches("^[a-z0-9][a-z0-9_-]{0,62}$")) {
            return;
        }
        TestStack.Endpoints stack = TestStack.get();
        VaultProbe vault = new VaultProbe(stack.vaultUrl());
        String root = stack.vaultRootToken();
        String accessor = vault.call("GET", "sys/auth", root, null).json().path("token/").path("accessor").asString();
        Path layout = TestStack.projectRoot().resolve("scripts/stack/openbao");
        try (Stream<Path> files = Files.list(layout.resolve("tenant-policies"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".hcl")).sorted().toList()) {
                String name = file.getFileName().toString().replace(".hcl", "");
                String policy = render(Files.readString(file), tenant, accessor);
                expectOk(vault.call("PUT", "sys/policies/acl/tenant." + tenant + "." + name, root,
                        JSON.writeValueAsString(Map.of("policy", policy,
                                "allow_slashes_in_identity_templates", policy.contains("{{identity.")))), name);
            }
            expectOk(vault.call("POST", "auth/token/roles/agent-pdp." + tenant, root,
                    render(Files.readString(layout.resolve("tenant-role.json")), tenant, accessor)), "token role");
        } catch (IOException e) {
            throw new IllegalStateException("Could not read the tenant layout under " + layout, e);
        }
        ONBOARDED.add(tenant);
    }

    /** The reference policies every onboarded tenant has (short names, as a credential profile lists them). */
    public static List<String> policyNames() {
        return List.of("agent-own", "crm-read", "crm-write", "payments", "secret-read");
    }

    private static String render(String template, String tenant, String accessor) {
        return template.replace("@TENANT@", tenant).replace("@TOKEN_ACCESSOR@", accessor);
    }

    private static void expectOk(VaultProbe.Reply reply, String what) {
        if (reply.status() / 100 != 2) {
            throw new IllegalStateException("Onboarding " + what + " answered " + reply.status() + ": " + reply.json());
        }
    }
}
