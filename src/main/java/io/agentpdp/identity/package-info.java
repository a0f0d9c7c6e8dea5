/**
 * Workload identity: SPIFFE JWT-SVIDs verified against the configured trust domain's bundle (SPIRE Workload API
 * or a bundle file) and bound to agents by the registry. Entry type: {@link io.agentpdp.identity.WorkloadIdentities}.
 */
package io.agentpdp.identity;
