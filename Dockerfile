# syntax=docker/dockerfile:1
#
# agent-pdp container image (Spring Boot 4 / Java 25).
#
#   docker build -t agent-pdp:0.1.0 .
#
# Stage 1 builds the fat jar with the Maven wrapper and splits it into
# layers (dependencies change rarely, application classes change often).
# Stage 2 is a JRE-only runtime that runs as uid/gid 10001.
#
# No secrets are baked into the image: every credential (DB password, Vault
# AppRole secret-id, ...) is provided at runtime via environment variables
# (see helm/agent-pdp and docs/operations.md).

ARG BUILD_IMAGE=eclipse-temurin:25-jdk
ARG RUNTIME_IMAGE=eclipse-temurin:25-jre

############################
# Stage 1: build + extract #
############################
FROM ${BUILD_IMAGE} AS build
WORKDIR /workspace

COPY mvnw pom.xml ./
COPY .mvn/ .mvn/
RUN chmod +x mvnw
# pom.xml packages db/migrations (Flyway) and openapi.yaml from the repo root.
COPY db/ db/
COPY openapi.yaml ./
COPY src/ src/

# The BuildKit cache mount keeps ~/.m2 (dependencies and the wrapper's Maven
# distribution) between builds without storing it in an image layer. The
# wrapper downloads Maven with its built-in Java downloader (no curl/wget in
# the JDK image) and uses the .tar.gz distribution when unzip is missing.
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -ntp -DskipTests package \
 && cp target/agent-pdp.jar /workspace/app.jar

# Split the jar into layers with the launcher so it can be started with
# JarLauncher:
#   extracted/{dependencies,spring-boot-loader,snapshot-dependencies,application}
RUN java -Djarmode=tools -jar /workspace/app.jar extract \
        --layers --launcher --destination /workspace/extracted

#####################
# Stage 2: runtime  #
#####################
FROM ${RUNTIME_IMAGE} AS runtime

ARG VERSION=0.1.0

LABEL org.opencontainers.image.title="agent-pdp" \
      org.opencontainers.image.description="Policy decision point for AI-agent runtime control" \
      org.opencontainers.image.version="${VERSION}"

# The Temurin Ubuntu JRE image ships neither curl nor wget (wget is removed
# again after the JDK download). curl is installed only for the HEALTHCHECK
# below (Kubernetes ignores HEALTHCHECK and uses the chart's probes).
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10001 pdp; \
    useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin pdp

WORKDIR /app

# One COPY per layer, least frequently changing first. Files stay owned by
# root (read-only for the runtime user).
COPY --from=build /workspace/extracted/dependencies/ ./
COPY --from=build /workspace/extracted/spring-boot-loader/ ./
COPY --from=build /workspace/extracted/snapshot-dependencies/ ./
COPY --from=build /workspace/extracted/application/ ./

# Container-aware heap sizing; the serial collector, named so that it does not
# change with the container's size (the JVM picks it itself only below 1792 MB or
# 2 CPUs; G1 cost the PDP 0.38-0.49 ms of CPU per DENY against 0.30-0.32,
# bench/README.md); exit (and let the orchestrator restart) on OOM. Picked up
# automatically by the JVM; override at runtime if needed.
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75 -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError" \
    SERVER_PORT=8080 \
    MANAGEMENT_SERVER_PORT=8081

# 8080 = API, 8081 = management (actuator health groups + prometheus).
EXPOSE 8080 8081

USER 10001:10001

# Docker / compose health check only. Uses curl (installed above) because a
# JVM one-liner would take seconds to start on every probe.
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8081/actuator/health/liveness"]

# Exec form: java is PID 1 and receives SIGTERM for graceful shutdown.
ENTRYPOINT ["java", "org.springframework.boot.loader.launch.JarLauncher"]
