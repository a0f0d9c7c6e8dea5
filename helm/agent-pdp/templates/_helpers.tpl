{{/* ---------------------------------------------------------------- names */}}

{{- define "agent-pdp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name. Resource names get suffixes (up to "-opa-policies", 13 chars), so
the prefix is truncated to 50 characters.
*/}}
{{- define "agent-pdp.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "agent-pdp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* ---------------------------------------------------------------- labels */}}

{{- define "agent-pdp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agent-pdp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector of the PDP pods (Deployment, Services, PDB, NetworkPolicy). */}}
{{- define "agent-pdp.pdpSelectorLabels" -}}
{{ include "agent-pdp.selectorLabels" . }}
app.kubernetes.io/component: pdp
{{- end }}

{{- define "agent-pdp.labels" -}}
helm.sh/chart: {{ include "agent-pdp.chart" . }}
{{ include "agent-pdp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: agent-pdp
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "agent-pdp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "agent-pdp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- images */}}

{{- define "agent-pdp.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "agent-pdp.opaImage" -}}
{{- if .Values.opa.image.digest }}
{{- printf "%s@%s" .Values.opa.image.repository .Values.opa.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.opa.image.repository .Values.opa.image.tag }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- secrets */}}

{{- define "agent-pdp.dbAppSecretName" -}}
{{- default (include "agent-pdp.fullname" .) .Values.database.app.existingSecret }}
{{- end }}

{{- define "agent-pdp.dbAppSecretKey" -}}
{{- if .Values.database.app.existingSecret }}{{ .Values.database.app.existingSecretKey }}{{ else }}database-password{{ end }}
{{- end }}

{{- define "agent-pdp.dbMigrationSecretName" -}}
{{- default (printf "%s-migration" (include "agent-pdp.fullname" .)) .Values.database.migration.existingSecret }}
{{- end }}

{{- define "agent-pdp.dbMigrationSecretKey" -}}
{{- if .Values.database.migration.existingSecret }}{{ .Values.database.migration.existingSecretKey }}{{ else }}database-password{{ end }}
{{- end }}

{{- define "agent-pdp.approleSecretName" -}}
{{- default (include "agent-pdp.fullname" .) .Values.vault.approle.existingSecret }}
{{- end }}

{{- define "agent-pdp.approleSecretKey" -}}
{{- if .Values.vault.approle.existingSecret }}{{ .Values.vault.approle.existingSecretKey }}{{ else }}vault-approle-secret-id{{ end }}
{{- end }}

{{/* "true" when the chart must render its own runtime Secret. */}}
{{- define "agent-pdp.chartSecretNeeded" -}}
{{- if or (not .Values.database.app.existingSecret) (and (eq .Values.vault.authMethod "approle") (not .Values.vault.approle.existingSecret)) -}}
true
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- config */}}

{{- define "agent-pdp.opaUrl" -}}
{{- default (printf "http://127.0.0.1:%v" .Values.opa.port) .Values.config.opa.url }}
{{- end }}

{{/*
Non-secret environment of the application as a YAML map (NAME: "value").
Used for the ConfigMap (PDP pods) and inlined into the migration Job, which
runs before the ConfigMap exists on first install.
*/}}
{{- define "agent-pdp.configEnv" -}}
{{- $env := dict -}}
{{- $_ := set $env "SERVER_PORT" (toString .Values.ports.http) -}}
{{- $_ := set $env "MANAGEMENT_SERVER_PORT" (toString .Values.ports.management) -}}
{{- $_ := set $env "PDP_OPA_URL" (include "agent-pdp.opaUrl" .) -}}
{{- $_ := set $env "PDP_OPA_TIMEOUT" .Values.config.opa.timeout -}}
{{- $_ := set $env "PDP_VAULT_URL" .Values.vault.url -}}
{{- $_ := set $env "PDP_VAULT_AUTH_METHOD" .Values.vault.authMethod -}}
{{- if eq .Values.vault.authMethod "kubernetes" -}}
{{- $_ := set $env "PDP_VAULT_KUBERNETES_ROLE" .Values.vault.kubernetes.role -}}
{{- $_ := set $env "PDP_VAULT_KUBERNETES_MOUNT" .Values.vault.kubernetes.mount -}}
{{- else if eq .Values.vault.authMethod "approle" -}}
{{- $_ := set $env "PDP_VAULT_APPROLE_MOUNT" .Values.vault.approle.mount -}}
{{- $_ := set $env "PDP_VAULT_APPROLE_ROLE_ID" .Values.vault.approle.roleId -}}
{{- end -}}
{{- with .Values.vault.tokenRole -}}
{{- $_ := set $env "PDP_VAULT_TOKEN_ROLE" . -}}
{{- end -}}
{{- $_ := set $env "PDP_VAULT_REVOCATION_CONCURRENCY" (toString .Values.vault.revocationConcurrency) -}}
{{- $_ := set $env "PDP_VAULT_WRAP" (toString .Values.vault.wrap) -}}
{{- $_ := set $env "PDP_VAULT_WRAP_TTL" .Values.vault.wrapTtl -}}
{{- $_ := set $env "PDP_AUDIT_TRANSIT_MOUNT" .Values.vault.transit.mount -}}
{{- $_ := set $env "PDP_AUDIT_SIGNING_KEY" .Values.vault.transit.auditKey -}}
{{- $_ := set $env "PDP_AUDIT_CHECKPOINT_INTERVAL" .Values.config.audit.checkpointInterval -}}
{{- $_ := set $env "SPRING_DATASOURCE_URL" .Values.database.url -}}
{{- $_ := set $env "SPRING_DATASOURCE_USERNAME" .Values.database.app.username -}}
{{- $_ := set $env "SPRING_FLYWAY_ENABLED" (ternary "false" "true" .Values.migration.enabled) -}}
{{- with .Values.config.security.jwt.issuerUri -}}
{{- $_ := set $env "SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_ISSUER_URI" . -}}
{{- end -}}
{{- with .Values.config.security.jwt.jwkSetUri -}}
{{- $_ := set $env "SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_JWK_SET_URI" . -}}
{{- end -}}
{{- with .Values.config.security.issuer -}}
{{- $_ := set $env "PDP_SECURITY_ISSUER" . -}}
{{- end -}}
{{- $_ := set $env "PDP_SECURITY_TENANT_CLAIM" .Values.config.security.tenantClaim -}}
{{- with .Values.config.security.audience -}}
{{- $_ := set $env "PDP_SECURITY_AUDIENCE" . -}}
{{- $_ := set $env "SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_AUDIENCES" . -}}
{{- end -}}
{{- $id := .Values.config.identity -}}
{{- $_ := set $env "PDP_IDENTITY_TRUST_DOMAIN" $id.trustDomain -}}
{{- $_ := set $env "PDP_IDENTITY_AUDIENCE" $id.audience -}}
{{- $_ := set $env "PDP_IDENTITY_MAX_LIFETIME" $id.maxLifetime -}}
{{- $_ := set $env "PDP_IDENTITY_CLOCK_SKEW" $id.clockSkew -}}
{{- $_ := set $env "PDP_IDENTITY_REFRESH" $id.refresh -}}
{{- $_ := set $env "PDP_IDENTITY_REQUIRED_RISK_TIERS" (join "," $id.requiredRiskTiers) -}}
{{- $_ := set $env "PDP_IDENTITY_BUNDLE_SOURCE" $id.bundleSource -}}
{{- if eq $id.bundleSource "file" -}}
{{- $_ := set $env "PDP_IDENTITY_BUNDLE_FILE" (printf "/run/spiffe/bundle/%s" $id.bundleFile.key) -}}
{{- else -}}
{{- $_ := set $env "PDP_IDENTITY_WORKLOAD_API_SOCKET" (printf "unix:/run/spiffe/workload-api/%s" $id.workloadApi.socketName) -}}
{{- end -}}
{{- with .Values.config.javaToolOptions -}}
{{- $_ := set $env "JAVA_TOOL_OPTIONS" . -}}
{{- end -}}
{{- range $k, $v := .Values.config.extraEnv -}}
{{- $_ := set $env $k (toString $v) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end }}

{{/* ---------------------------------------------------------------- policies */}}

{{/*
OPA bundles shipped in ConfigMaps, built by scripts/helm-check.sh (policies/bundle.sh --tar):
policies/bundle.tar.gz (the decision policies with their .manifest revision; configmap mode) and
policies/authz.tar.gz (system.authz: the OPA API answers only the decision query; every mode).
OPA reads tarballs through the ConfigMap volume's symlinks; a directory bundle would also walk
the volume's hidden ..<timestamp> directory.
*/}}
{{- define "agent-pdp.policyBundle" -}}
{{- .Files.Get "policies/bundle.tar.gz" -}}
{{- end }}

{{- define "agent-pdp.authzBundle" -}}
{{- .Files.Get "policies/authz.tar.gz" -}}
{{- end }}

{{/* OPA configuration file (config.yaml) content. */}}
{{- define "agent-pdp.opaConfig" -}}
{{- $cfg := dict -}}
{{- if eq .Values.opa.policySource "bundle" -}}
{{- $b := .Values.opa.bundle -}}
{{- $svc := dict "url" $b.url -}}
{{- if $b.credentials.existingSecret -}}
{{- $_ := set $svc "credentials" (dict "bearer" (dict "token_path" (printf "/var/run/secrets/opa-bundle/%s" $b.credentials.key) "scheme" $b.credentials.scheme)) -}}
{{- end -}}
{{- $bundle := dict "service" "bundle-server" "resource" $b.resource "persist" false "polling" (dict "min_delay_seconds" $b.pollingMinDelaySeconds "max_delay_seconds" $b.pollingMaxDelaySeconds) -}}
{{- if $b.signing.keyId -}}
{{- $_ := set $bundle "signing" (dict "keyid" $b.signing.keyId) -}}
{{- $_ := set $cfg "keys" (dict $b.signing.keyId (dict "algorithm" $b.signing.algorithm "key" $b.signing.publicKey)) -}}
{{- end -}}
{{- $_ := set $cfg "services" (dict "bundle-server" $svc) -}}
{{- $_ := set $cfg "bundles" (dict $b.name $bundle) -}}
{{- end -}}
{{- $cfg = mustMergeOverwrite $cfg (deepCopy .Values.opa.extraConfig) -}}
{{- if $cfg }}{{ toYaml $cfg }}{{ else }}{}{{ end -}}
{{- end }}

{{/* ---------------------------------------------------------------- validation */}}

{{- define "agent-pdp.validate" -}}
{{- if not (has .Values.vault.authMethod (list "kubernetes" "approle")) -}}
{{- fail (printf "vault.authMethod must be \"kubernetes\" or \"approle\" (got %q); token auth is dev-only and not supported by this chart" .Values.vault.authMethod) -}}
{{- end -}}
{{- $_ := required "vault.url is required (e.g. https://vault.vault.svc:8200)" .Values.vault.url -}}
{{- if eq .Values.vault.authMethod "kubernetes" -}}
{{- $_ := required "vault.kubernetes.role is required when vault.authMethod=kubernetes" .Values.vault.kubernetes.role -}}
{{- else -}}
{{- $_ := required "vault.approle.roleId is required when vault.authMethod=approle" .Values.vault.approle.roleId -}}
{{- if not (or .Values.vault.approle.existingSecret .Values.vault.approle.secretId) -}}
{{- fail "vault.approle.existingSecret (recommended) or vault.approle.secretId is required when vault.authMethod=approle" -}}
{{- end -}}
{{- end -}}
{{- $_ := required "database.url is required (JDBC URL)" .Values.database.url -}}
{{- if not (or .Values.database.app.existingSecret .Values.database.app.password) -}}
{{- fail "database.app.existingSecret (recommended) or database.app.password is required" -}}
{{- end -}}
{{- if and .Values.migration.enabled (not (or .Values.database.migration.existingSecret .Values.database.migration.password)) -}}
{{- fail "database.migration.existingSecret (recommended) or database.migration.password is required when migration.enabled=true" -}}
{{- end -}}
{{- if not (or .Values.config.security.jwt.issuerUri .Values.config.security.jwt.jwkSetUri) -}}
{{- fail "config.security.jwt.issuerUri and/or config.security.jwt.jwkSetUri is required" -}}
{{- end -}}
{{- if not (or .Values.config.security.issuer .Values.config.security.jwt.issuerUri) -}}
{{- fail "config.security.issuer is required when only config.security.jwt.jwkSetUri is set: the PDP accepts tokens from one named issuer (iss)" -}}
{{- end -}}
{{- if and .Values.config.security.issuer .Values.config.security.jwt.issuerUri (ne .Values.config.security.issuer .Values.config.security.jwt.issuerUri) -}}
{{- fail "config.security.issuer and config.security.jwt.issuerUri disagree; set one of them" -}}
{{- end -}}
{{- $_ := required "config.security.audience is required: the JWT audience (aud) the PDP accepts, e.g. agent-pdp; without it a token minted for any other service of the same issuer would be accepted" .Values.config.security.audience -}}
{{- $_ := required "config.identity.trustDomain is required: the SPIFFE trust domain whose JWT-SVIDs identify agents (the PDP refuses to start without it)" .Values.config.identity.trustDomain -}}
{{- if not (has .Values.config.identity.bundleSource (list "workload-api" "file")) -}}
{{- fail (printf "config.identity.bundleSource must be \"workload-api\" or \"file\" (got %q)" .Values.config.identity.bundleSource) -}}
{{- end -}}
{{- if and (eq .Values.config.identity.bundleSource "file") (not .Values.config.identity.bundleFile.configMap) -}}
{{- fail "config.identity.bundleFile.configMap is required when config.identity.bundleSource=file" -}}
{{- end -}}
{{- if and (eq .Values.config.identity.bundleSource "workload-api") (not (or .Values.config.identity.workloadApi.csiDriver .Values.config.identity.workloadApi.hostPath)) -}}
{{- fail "config.identity.workloadApi.csiDriver or .hostPath is required when config.identity.bundleSource=workload-api" -}}
{{- end -}}
{{- if eq .Values.opa.policySource "bundle" -}}
{{- $_ := required "opa.bundle.url is required when opa.policySource=bundle" .Values.opa.bundle.url -}}
{{- $_ := required "opa.bundle.resource is required when opa.policySource=bundle" .Values.opa.bundle.resource -}}
{{- if and .Values.opa.bundle.signing.keyId (not .Values.opa.bundle.signing.publicKey) -}}
{{- fail "opa.bundle.signing.publicKey is required when opa.bundle.signing.keyId is set" -}}
{{- end -}}
{{- else if eq .Values.opa.policySource "configmap" -}}
{{- if not (include "agent-pdp.policyBundle" .) -}}
{{- fail "opa.policySource=configmap but the chart contains no policy bundle: run scripts/helm-check.sh (builds helm/agent-pdp/policies/bundle.tar.gz from ../../policies) or use opa.policySource=bundle" -}}
{{- end -}}
{{- else -}}
{{- fail (printf "opa.policySource must be \"configmap\" or \"bundle\" (got %q)" .Values.opa.policySource) -}}
{{- end -}}
{{- if not (include "agent-pdp.authzBundle" .) -}}
{{- fail "the chart contains no OPA authorization bundle: run scripts/helm-check.sh (builds helm/agent-pdp/policies/authz.tar.gz from ../../policies/system)" -}}
{{- end -}}
{{- if hasKey .Values.opa.extraConfig "default_authorization_decision" -}}
{{- fail "opa.extraConfig must not set default_authorization_decision: the sidecar's API authorization is data.system.authz.allow from the chart's authz bundle" -}}
{{- end -}}
{{- range .Values.opa.extraArgs -}}
{{- if or (hasPrefix "--authorization" (toString .)) (hasPrefix "--authentication" (toString .)) (hasPrefix "--addr" (toString .)) (hasPrefix "-a" (toString .)) -}}
{{- fail (printf "opa.extraArgs must not change the OPA API's address, authentication or authorization (got %q): the sidecar answers only the decision query" (toString .)) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail "autoscaling.minReplicas must be <= autoscaling.maxReplicas" -}}
{{- end -}}
{{- if and .Values.serviceMonitor.enabled (not .Values.metrics.service.enabled) -}}
{{- fail "serviceMonitor.enabled requires metrics.service.enabled" -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.enabled (not .Values.podDisruptionBudget.minAvailable) (not .Values.podDisruptionBudget.maxUnavailable) -}}
{{- fail "set podDisruptionBudget.minAvailable or a non-zero podDisruptionBudget.maxUnavailable (0 would block all voluntary evictions)" -}}
{{- end -}}
{{- end }}

{{/* ---------------------------------------------------------------- pod bits */}}

{{/* Extra hardening fields are fixed here so no values override can drop them. */}}
{{- define "agent-pdp.containerSecurityContext" -}}
{{- $sc := deepCopy .Values.securityContext -}}
{{- $_ := set $sc "runAsNonRoot" true -}}
{{- $_ := set $sc "allowPrivilegeEscalation" false -}}
{{- $_ := set $sc "readOnlyRootFilesystem" true -}}
{{- toYaml $sc -}}
{{- end }}

{{/* OPA sidecar container (regular or native sidecar). */}}
{{- define "agent-pdp.opaContainer" -}}
- name: opa
  image: {{ include "agent-pdp.opaImage" . }}
  imagePullPolicy: {{ .Values.opa.image.pullPolicy }}
  {{- if .Values.opa.nativeSidecar }}
  restartPolicy: Always
  {{- end }}
  args:
    - run
    - --server
    - --addr=127.0.0.1:{{ .Values.opa.port }}
    - --diagnostic-addr=0.0.0.0:{{ .Values.opa.diagnosticPort }}
    - --config-file=/config/config.yaml
    - --log-level={{ .Values.opa.logLevel }}
    - --log-format={{ .Values.opa.logFormat }}
    - --skip-version-check
    # The API answers only what data.system.authz allows (the decision query, /health, /metrics);
    # PUT /v1/policies, /v1/data reads and writes etc. are refused: policies come only from bundles.
    - --authorization=basic
    {{- if not .Values.opa.nativeSidecar }}
    - --shutdown-wait-period={{ .Values.opa.shutdownWaitSeconds }}
    {{- end }}
    {{- range .Values.opa.extraArgs }}
    - {{ . | quote }}
    {{- end }}
    - --bundle
    - /authz/authz.tar.gz
    {{- if eq .Values.opa.policySource "configmap" }}
    - /policies/bundle.tar.gz
    {{- end }}
  ports:
    - name: opa-diag
      containerPort: {{ .Values.opa.diagnosticPort }}
      protocol: TCP
  startupProbe:
    httpGet:
      path: /health
      port: opa-diag
    periodSeconds: 2
    timeoutSeconds: 2
    failureThreshold: 30
  livenessProbe:
    httpGet:
      path: /health
      port: opa-diag
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: /health?bundles
      port: opa-diag
    periodSeconds: 5
    timeoutSeconds: 3
    failureThreshold: 3
  resources:
    {{- toYaml .Values.opa.resources | nindent 4 }}
  securityContext:
    {{- include "agent-pdp.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: opa-config
      mountPath: /config
      readOnly: true
    - name: opa-authz
      mountPath: /authz
      readOnly: true
    {{- if eq .Values.opa.policySource "configmap" }}
    - name: opa-policies
      mountPath: /policies
      readOnly: true
    {{- else if .Values.opa.bundle.credentials.existingSecret }}
    - name: opa-bundle-credentials
      mountPath: /var/run/secrets/opa-bundle
      readOnly: true
    {{- end }}
{{- end }}
