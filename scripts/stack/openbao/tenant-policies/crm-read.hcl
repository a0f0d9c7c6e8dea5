# tenant.@TENANT@.crm-read: read the tenant's CRM secrets.
path "secret/data/tenants/@TENANT@/crm/*"     { capabilities = ["read"] }
path "secret/metadata/tenants/@TENANT@/crm/*" { capabilities = ["read", "list"] }
