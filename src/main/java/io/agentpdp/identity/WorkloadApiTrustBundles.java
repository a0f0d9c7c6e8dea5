package io.agentpdp.identity;

import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.exception.BundleNotFoundException;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.workloadapi.DefaultJwtSource;
import io.spiffe.workloadapi.JwtSource;
import io.spiffe.workloadapi.JwtSourceOptions;

/**
 * The JWT bundles a SPIRE agent's Workload API streams to this process (java-spiffe's {@link DefaultJwtSource}:
 * it keeps the latest bundle set and follows rotations). Start-up waits up to {@code connectTimeout} for the
 * first bundles; if the agent cannot be reached, a background thread tries again every {@code refresh} and
 * decisions meanwhile find no bundle (DENY, {@code bundle_unavailable}). The PDP itself must be a registered
 * workload of that agent, or the agent sends it no bundles.
 */
final class WorkloadApiTrustBundles implements TrustBundles, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WorkloadApiTrustBundles.class);

    private final String socket;
    private final Duration connectTimeout;
    private final Duration refresh;
    private volatile JwtSource source;
    private volatile boolean closed;
    private volatile String lastFailure = "not connected yet";

    WorkloadApiTrustBundles(String socket, Duration connectTimeout, Duration refresh) {
        this.socket = socket;
        this.connectTimeout = connectTimeout;
        this.refresh = refresh;
        if (!connect()) {
            Thread.ofVirtual().name("spiffe-workload-api-connect").start(this::keepConnecting);
        }
    }

    private boolean connect() {
        try {
            JwtSourceOptions.JwtSourceOptionsBuilder options = JwtSourceOptions.builder().initTimeout(connectTimeout);
            if (socket != null && !socket.isBlank()) {
                options.spiffeSocketPath(socket);
            }
            source = DefaultJwtSource.newSource(options.build());
            log.info("Workload API connected ({}): JWT bundles are streamed from the SPIRE agent", describe());
            return true;
        } catch (Exception e) {
            lastFailure = e.getClass().getSimpleName() + ": " + e.getMessage();
            log.warn("Workload API ({}) not available: {}; every decision that needs a workload identity is DENY "
                    + "until it is", describe(), lastFailure);
            return false;
        }
    }

    private void keepConnecting() {
        while (!closed && source == null) {
            try {
                Thread.sleep(refresh);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (!closed) {
                connect();
            }
        }
    }

    private String describe() {
        return socket == null || socket.isBlank() ? "SPIFFE_ENDPOINT_SOCKET" : socket;
    }

    @Override
    public JwtBundle bundle(TrustDomain trustDomain) throws UnavailableException {
        JwtSource current = source;
        if (current == null) {
            throw new UnavailableException("the Workload API (" + describe() + ") is not connected: " + lastFailure, null);
        }
        try {
            return current.getBundleForTrustDomain(trustDomain);
        } catch (BundleNotFoundException | IllegalStateException e) {
            throw new UnavailableException("the Workload API has no JWT bundle for " + trustDomain, e);
        }
    }

    @Override
    public void close() {
        closed = true;
        JwtSource current = source;
        if (current != null) {
            try {
                current.close();
            } catch (java.io.IOException e) {
                log.debug("Closing the Workload API connection failed", e);
            }
        }
    }
}
