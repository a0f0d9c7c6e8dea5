# tenant.@TENANT@.secret-read: read the tenant's secrets area (database passwords and the like).
path "secret/data/tenants/@TENANT@/secret/*"     { capabilities = ["read"] }
path "secret/metadata/tenants/@TENANT@/secret/*" { capabilities = ["read", "list"] }
