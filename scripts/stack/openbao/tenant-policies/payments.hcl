# tenant.@TENANT@.payments: read and write the tenant's payment secrets.
path "secret/data/tenants/@TENANT@/payments/*"     { capabilities = ["create", "update", "read"] }
path "secret/metadata/tenants/@TENANT@/payments/*" { capabilities = ["read", "list"] }
