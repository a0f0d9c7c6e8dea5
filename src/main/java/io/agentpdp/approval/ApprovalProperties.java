package io.agentpdp.approval;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The step-up approval workflow.
 *
 * @param pendingTtl          how long a request waits for its approvers (default 15m); then it is EXPIRED
 * @param approvedTtl         how long an approved request stays usable, counted from the approval (default 5m)
 * @param sweepInterval       how often the sweeper marks expired requests (default 30s); the decide path never waits for it
 * @param maxWait             longest long-poll a client may ask for with {@code ?wait=} (default 30s)
 * @param pollInterval        how often a long-poll re-reads the request while this replica's change listener
 *                            (LISTEN/NOTIFY) is disconnected (default 1s); while it is connected a waiter reads
 *                            only when notified of a change, at the request's expiry and at the end of its wait
 * @param maxWaitsPerCaller   most concurrent long-polls per caller (token subject in its tenant) and replica (default 20)
 * @param maxWaitsPerTenant   most concurrent long-polls per tenant and replica (default 200); more get 429
 * @param webhookUrl          a receiver of approval events (optional), shorthand for one entry {@code default} of
 *                            {@code webhooks}; needs {@code webhook-secret}
 * @param webhookSecret       the HMAC-SHA256 signing secret of {@code webhook-url} (at least 32 characters; never logged)
 * @param webhooks            receivers of approval events ({@code pdp.approval.webhooks[n].name/url/secret}), each
 *                            with its own signing secret (at least 32 characters). Events are CloudEvents 1.0
 *                            (structured JSON), delivered concurrently across receivers and in order per approval
 *                            and receiver. No receiver, no notifications
 * @param reminderBefore      how long before a pending request expires its approvers are reminded (event
 *                            {@code io.agentpdp.approval.reminder}; default 5m; checked at every sweep)
 * @param webhookTimeout      deadline for one delivery (default 2s)
 * @param webhookMaxAttempts  deliveries tried per event before it is marked failed (default 8)
 * @param webhookBackoff      wait after the first failed delivery, doubled after each further one (default 1s)
 * @param webhookMaxBackoff   longest wait between two deliveries (default 5m)
 * @param webhookPollInterval how often the outbox is scanned for due deliveries (default 1s)
 * @param creationAgentPerMinute   new approval requests an agent may cause per minute and replica (default 10)
 * @param creationAgentBurst       of which at once (default 10)
 * @param creationCallerPerMinute  new approval requests one enforcement point (caller principal) may cause per
 *                                 minute and replica (default 60)
 * @param creationCallerBurst      of which at once (default 30). A STEP_UP over either limit is answered DENY
 *                                 {@code approval_rate_limited} (recorded) and opens nothing
 */
@ConfigurationProperties("pdp.approval")
record ApprovalProperties(@DefaultValue("15m") Duration pendingTtl,
                          @DefaultValue("5m") Duration approvedTtl,
                          @DefaultValue("30s") Duration sweepInterval,
                          @DefaultValue("30s") Duration maxWait,
                          @DefaultValue("1s") Duration pollInterval,
                          @DefaultValue("20") int maxWaitsPerCaller,
                          @DefaultValue("200") int maxWaitsPerTenant,
                          URI webhookUrl,
                          String webhookSecret,
                          List<Receiver> webhooks,
                          @DefaultValue("5m") Duration reminderBefore,
                          @DefaultValue("2s") Duration webhookTimeout,
                          @DefaultValue("8") int webhookMaxAttempts,
                          @DefaultValue("1s") Duration webhookBackoff,
                          @DefaultValue("5m") Duration webhookMaxBackoff,
                          @DefaultValue("1s") Duration webhookPollInterval,
                          @DefaultValue("10") double creationAgentPerMinute,
                          @DefaultValue("10") double creationAgentBurst,
                          @DefaultValue("60") double creationCallerPerMinute,
                          @DefaultValue("30") double creationCallerBurst) {

    ApprovalProperties {
        for (Duration d : new Duration[] {pendingTtl, approvedTtl, sweepInterval, maxWait, pollInterval, webhookTimeout,
                webhookBackoff, webhookMaxBackoff, webhookPollInterval, reminderBefore}) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("pdp.approval durations must be positive, got " + d);
            }
        }
        if (maxWaitsPerCaller < 1 || maxWaitsPerTenant < 1) {
            throw new IllegalArgumentException("pdp.approval.max-waits-per-caller and -per-tenant must be at least 1");
        }
        if (!(creationAgentPerMinute > 0) || !(creationCallerPerMinute > 0) || creationAgentBurst < 1
                || creationCallerBurst < 1) {
            throw new IllegalArgumentException("pdp.approval.creation-* rates must be positive and bursts at least 1");
        }
        if (webhookMaxAttempts < 1) {
            throw new IllegalArgumentException("pdp.approval.webhook-max-attempts must be at least 1");
        }
        List<Receiver> receivers = new ArrayList<>(webhooks == null ? List.of() : webhooks);
        if (webhookUrl != null && !webhookUrl.toString().isBlank()) {
            receivers.add(new Receiver("default", webhookUrl, webhookSecret));
        }
        Set<String> names = new HashSet<>();
        for (Receiver receiver : receivers) {
            if (!names.add(receiver.name())) {
                throw new IllegalArgumentException("pdp.approval.webhooks: receiver name '" + receiver.name() + "' is used twice");
            }
        }
        webhooks = List.copyOf(receivers);
    }

    /**
     * One receiver of approval events: a unique name (it keys the delivery order), an http(s) URL and the
     * secret its deliveries are signed with.
     */
    record Receiver(String name, URI url, String secret) {
        Receiver {
            if (name == null || !name.matches("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")) {
                throw new IllegalArgumentException("pdp.approval.webhooks[].name must be 1-64 letters, digits, '.', '_' or '-'");
            }
            if (url == null || !("http".equals(url.getScheme()) || "https".equals(url.getScheme()))) {
                throw new IllegalArgumentException("pdp.approval.webhooks[" + name + "].url must be an http(s) URL");
            }
            // Never echo the secret itself.
            if (secret == null || secret.length() < 32) {
                throw new IllegalArgumentException("pdp.approval.webhooks[" + name + "].secret (or pdp.approval.webhook-secret) "
                        + "must be set, at least 32 characters");
            }
        }

        @Override
        public String toString() {
            return "Receiver[name=" + name + ", url=" + url + "]";
        }
    }

    /** Without the signing secrets. */
    @Override
    public String toString() {
        return "ApprovalProperties[pendingTtl=" + pendingTtl + ", approvedTtl=" + approvedTtl + ", webhooks=" + webhooks
                + ", reminderBefore=" + reminderBefore + "]";
    }

    boolean webhookEnabled() {
        return !webhooks.isEmpty();
    }
}
