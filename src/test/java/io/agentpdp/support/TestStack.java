package io.agentpdp.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.MountableFile;

/**
 * The real OPA, Vault/OpenBao, PostgreSQL and SPIRE (server and agent, whose Workload API issues the agents'
 * JWT-SVIDs) the integration tests run against, found in this order:
 * <ol>
 *   <li>URLs in the environment ({@code PDP_TEST_POSTGRES_URL}, {@code PDP_TEST_OPA_URL},
 *       {@code PDP_TEST_VAULT_URL} plus tokens, as {@code make test} exports them from scripts/stack);</li>
 *   <li>Testcontainers, where a Docker engine answers;</li>
 *   <li>otherwise local binaries, started with {@code scripts/stack/start.sh} and stopped at JVM exit.</li>
 * </ol>
 * Never a fake: whichever way, the processes are the real servers.
 */
public final class TestStack {

    /**
     * Endpoints and credentials of the running stack. {@code spiffe}: the SPIRE agent's Workload API and what it
     * issues (null in Testcontainers mode, which has no SPIRE: tests that need an SVID then fail).
     */
    public record Endpoints(String how, String postgresUrl, String appUser, String appPassword, String ownerUser,
                            String ownerPassword, String opaUrl, String vaultUrl, String vaultRootToken,
                            String vaultPdpToken, String vaultTokenRole, String vaultUnsealKey, Spiffe spiffe) {
    }

    /**
     * The stack's SPIRE: its trust domain, the audience SVIDs are fetched for, the agent's Workload API socket
     * (a path), the trust bundle as a SPIFFE bundle file, and the SPIFFE IDs (comma-separated in the env) this uid's workloads are registered
     * under (scripts/stack/start.sh: agents/agent-7, tests/workload-a, tests/workload-b).
     */
    public record Spiffe(String trustDomain, String audience, String socket, String bundleFile, List<String> ids) {

        public String id(String path) {
            String id = "spiffe://" + trustDomain + "/" + path;
            if (!ids.contains(id)) {
                throw new IllegalStateException(id + " is not registered with the stack's SPIRE server: " + ids);
            }
            return id;
        }
    }

    private static Endpoints endpoints;

    private TestStack() {
    }

    public static synchronized Endpoints get() {
        if (endpoints == null) {
            endpoints = resolve(System.getenv());
        }
        return endpoints;
    }

    static Endpoints resolve(Map<String, String> env) {
        if (env.get("PDP_TEST_POSTGRES_URL") != null && env.get("PDP_TEST_OPA_URL") != null
                && env.get("PDP_TEST_VAULT_URL") != null) {
            return fromEnv("environment", env);
        }
        if (dockerAvailable()) {
            return containers();
        }
        return localBinaries();
    }

    private static Endpoints fromEnv(String how, Map<String, String> env) {
        return new Endpoints(how,
                require(env, "PDP_TEST_POSTGRES_URL"),
                env.getOrDefault("SPRING_DATASOURCE_USERNAME", "pdp_app"),
                env.getOrDefault("SPRING_DATASOURCE_PASSWORD", "pdp_app"),
                env.getOrDefault("SPRING_FLYWAY_USER", "pdp_owner"),
                env.getOrDefault("SPRING_FLYWAY_PASSWORD", "pdp_owner"),
                require(env, "PDP_TEST_OPA_URL"),
                require(env, "PDP_TEST_VAULT_URL"),
                require(env, "PDP_VAULT_ROOT_TOKEN"),
                require(env, "PDP_VAULT_TOKEN"),
                env.getOrDefault("PDP_VAULT_TOKEN_ROLE", "agent-pdp.{tenant}"),
                env.get("PDP_VAULT_UNSEAL_KEY"),
                new Spiffe(require(env, "PDP_IDENTITY_TRUST_DOMAIN"), require(env, "PDP_IDENTITY_AUDIENCE"),
                        require(env, "PDP_SPIFFE_SOCKET"), require(env, "PDP_SPIFFE_BUNDLE_FILE"),
                        List.of(require(env, "PDP_SPIFFE_IDS").replace("\\,", ",").split(","))));
    }

    private static String require(Map<String, String> env, String name) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException(name + " must be set when the test stack comes from the environment");
        }
        return value;
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable e) {
            return false;
        }
    }

    // ---- local binaries -------------------------------------------------------------------------

    private static Endpoints localBinaries() {
        Path root = projectRoot();
        try {
            Path state = Files.createTempDirectory("agent-pdp-stack");
            run(List.of("bash", root.resolve("scripts/stack/start.sh").toString(), state.toString()), root, 600);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    run(List.of("bash", root.resolve("scripts/stack/stop.sh").toString(), state.toString()), root, 120);
                } catch (RuntimeException ignored) {
                    // best effort at exit
                }
            }));
            return fromEnv("local binaries", readEnvFile(state.resolve("env")));
        } catch (IOException e) {
            throw new IllegalStateException("Could not start the local stack", e);
        }
    }

    static Map<String, String> readEnvFile(Path file) throws IOException {
        Map<String, String> values = new HashMap<>();
        Pattern line = Pattern.compile("^export ([A-Z0-9_]+)=(.*)$");
        for (String text : Files.readAllLines(file)) {
            Matcher m = line.matcher(text.trim());
            if (m.matches()) {
                values.put(m.group(1), unquote(m.group(2)));
            }
        }
        return values;
    }

    private static String unquote(String value) {
        if (value.length() >= 2 && (value.startsWith("'") && value.endsWith("'") || value.startsWith("\"") && value.endsWith("\""))) {
            return value.substring(1, value.length() - 1);
        }
        return value;
    }

    public static Path projectRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("openapi.yaml"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("Cannot find the project root (openapi.yaml) above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }

    private static void run(List<String> command, Path dir, int timeoutSeconds) {
        try {
            Process process = new ProcessBuilder(command).directory(dir.toFile()).inheritIO().start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " failed");
            }
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", command) + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ---- Testcontainers ---------------------------------------------------------------------------

    @SuppressWarnings("resource") // containers live for the whole test JVM; Ryuk removes them
    private static Endpoints containers() {
        Path root = projectRoot();
        try {
            Path bundle = Files.createTempDirectory("agent-pdp-bundle");
            Files.delete(bundle);
            run(List.of("bash", root.resolve("policies/bundle.sh").toString(), bundle.toString()), root, 60);
            Path authz = Files.createTempDirectory("agent-pdp-authz");
            Files.delete(authz);
            run(List.of("bash", root.resolve("policies/bundle.sh").toString(), "--authz", authz.toString()), root, 60);

            PostgreSQLContainer postgres = new PostgreSQLContainer("postgres:17-alpine")
                    .withDatabaseName("agentpdp").withUsername("pdp_owner").withPassword("pdp_owner");
            postgres.start();
            // As in production: migrations as the owner, the application as a role that cannot rewrite the trail.
            try (var owner = java.sql.DriverManager.getConnection(postgres.getJdbcUrl(), "pdp_owner", "pdp_owner");
                 var sql = owner.createStatement()) {
                sql.execute("create role pdp_app login password 'pdp_app'");
                sql.execute("grant connect on database agentpdp to pdp_app");
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException("Could not create the application role", e);
            }

            GenericContainer<?> opa = new GenericContainer<>(System.getenv().getOrDefault("PDP_TEST_OPA_IMAGE", "openpolicyagent/opa:1.22.2-static"))
                    .withCopyFileToContainer(MountableFile.forHostPath(bundle), "/bundle")
                    .withCopyFileToContainer(MountableFile.forHostPath(authz), "/authz")
                    // As the Helm sidecar: the API answers only the decision query, /health and /metrics.
                    .withCommand("run", "--server", "--addr=0.0.0.0:8181", "--authorization=basic",
                            "--bundle", "/bundle", "/authz")
                    .withExposedPorts(8181)
                    .waitingFor(Wait.forHttp("/health").forPort(8181));
            opa.start();

            String rootToken = "root-" + java.util.UUID.randomUUID();
            GenericContainer<?> bao = new GenericContainer<>(System.getenv().getOrDefault("PDP_TEST_OPENBAO_IMAGE", "openbao/openbao:latest"))
                    .withCommand("server", "-dev", "-dev-root-token-id=" + rootToken, "-dev-listen-address=0.0.0.0:8200")
                    .withExposedPorts(8200)
                    .waitingFor(Wait.forHttp("/v1/sys/health").forPort(8200));
            bao.start();
            String vaultUrl = "http://" + bao.getHost() + ":" + bao.getMappedPort(8200);
            Matcher unseal = Pattern.compile("Unseal Key: (\\S+)").matcher(bao.getLogs());
            String pdpToken = VaultBootstrap.configure(vaultUrl, rootToken);

            return new Endpoints("testcontainers", postgres.getJdbcUrl(), "pdp_app", "pdp_app", "pdp_owner", "pdp_owner",
                    "http://" + opa.getHost() + ":" + opa.getMappedPort(8181), vaultUrl, rootToken, pdpToken,
                    "agent-pdp.{tenant}", unseal.find() ? unseal.group(1) : null, null);
        } catch (IOException e) {
            throw new IllegalStateException("Could not start the test containers", e);
        }
    }

    /** Gives a containerised dev server what scripts/stack/start.sh gives the local one. */
    static final class VaultBootstrap {

        private static final HttpClient HTTP = HttpClient.newHttpClient();

        static String configure(String url, String rootToken) {
            // Tenants are onboarded by the tests themselves (TenantLayout: policies tenant.<tenant>.*, role agent-pdp.<tenant>).
            call(url, rootToken, "PUT", "sys/policies/acl/agent-pdp", "{\"policy\":\""
                    + "path \\\"auth/token/create/agent-pdp.*\\\" { capabilities = [\\\"create\\\", \\\"update\\\"] }\\n"
                    + "path \\\"auth/token/revoke-accessor\\\" { capabilities = [\\\"update\\\"] }\\n"
                    + "path \\\"auth/token/lookup-accessor\\\" { capabilities = [\\\"update\\\"] }\\n"
                    + "path \\\"auth/token/lookup-self\\\" { capabilities = [\\\"read\\\"] }\\n"
                    + "path \\\"auth/token/renew-self\\\" { capabilities = [\\\"update\\\"] }\\n"
                    + "path \\\"transit/sign/agent-pdp-audit\\\" { capabilities = [\\\"update\\\"] }\\n"
                    + "path \\\"transit/verify/agent-pdp-audit\\\" { capabilities = [\\\"update\\\"] }\"}");
            call(url, rootToken, "POST", "sys/mounts/transit", "{\"type\":\"transit\"}");
            call(url, rootToken, "POST", "transit/keys/agent-pdp-audit", "{\"type\":\"ed25519\"}");
            String created = call(url, rootToken, "POST", "auth/token/create",
                    "{\"policies\":[\"agent-pdp\"],\"period\":\"24h\",\"no_parent\":true}");
            Matcher token = Pattern.compile("\"client_token\":\"([^\"]+)\"").matcher(created);
            if (!token.find()) {
                throw new IllegalStateException("Could not create the PDP's Vault token");
            }
            return token.group(1);
        }

        private static String call(String url, String token, String method, String path, String body) {
            try {
                HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/" + path))
                        .header("X-Vault-Token", token)
                        .method(method, HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() / 100 != 2) {
                    throw new IllegalStateException("Vault " + method + " " + path + " answered " + response.statusCode());
                }
                return response.body();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
