# tenant.@TENANT@.crm-write: read and write the tenant's CRM secrets.
path "secret/data/tenants/@TENANT@/crm/*"     { capabilities = ["create", "update", "read"] }
path "secret/metadata/tenants/@TENANT@/crm/*" { capabilities = ["read", "list"] }
