# tenant.@TENANT@.agent-own: each agent's own paths, for profiles with per_agent: true. The PDP mints those
# tokens with the entity alias "@TENANT@/agents/<agent>" (the tenant's token role allows only that prefix),
# so the path below resolves to secret/data/tenants/@TENANT@/agents/<agent>/* for that agent alone. A token
# without that entity alias (any other profile) resolves nothing here. The alias has slashes, so this policy
# is written with allow_slashes_in_identity_templates=true (tenant-layout.sh does so for templated policies).
path "secret/data/tenants/{{identity.entity.aliases.@TOKEN_ACCESSOR@.name}}/*"     { capabilities = ["create", "update", "read"] }
path "secret/metadata/tenants/{{identity.entity.aliases.@TOKEN_ACCESSOR@.name}}/*" { capabilities = ["read", "list"] }
