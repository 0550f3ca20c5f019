package io.nemorouter.core.extension;

import java.util.Map;

/**
 * A part of the gateway that {@code GET /health} reports on (a shared store's link, say), added
 * with {@link ExtensionContext#healthCheck}. Asked on an event loop for every health request, so it
 * answers from what it already knows (the last ping), never by asking over the network.
 */
@FunctionalInterface
public interface HealthCheck {
    /** How the part is: {@code UP}; {@code DEGRADED} (the gateway still serves, with less); {@code DOWN} (requests fail). */
    enum State { UP, DEGRADED, DOWN }

    /** Its state and what a reader should see beside it (numbers, strings). */
    record Status(State state, Map<String, Object> details) {
        public Status {
            details = Map.copyOf(details);
        }
    }

    Status status();
}
