package io.nemorouter.core.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.core.extension.HealthCheck;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code GET /health} with the extensions' checks: {@code {"status": "ok" | "degraded" | "down" |
 * "draining", "checks": {"redis": {"status": "up", ...details}}}}. A check that throws is reported
 * down with its message: a broken check must not break the health answer load balancers poll.
 */
record HealthReport(String json, boolean down) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static HealthReport of(Map<String, HealthCheck> checks, boolean draining) {
        Map<String, Object> out = new LinkedHashMap<>();
        HealthCheck.State worst = HealthCheck.State.UP;
        for (Map.Entry<String, HealthCheck> c : checks.entrySet()) {
            Map<String, Object> one = new LinkedHashMap<>();
            HealthCheck.State state;
            try {
                HealthCheck.Status s = c.getValue().status();
                state = s.state();
                one.put("status", state.name().toLowerCase(java.util.Locale.ROOT));
                one.putAll(new java.util.TreeMap<>(s.details()));
            } catch (RuntimeException e) {
                state = HealthCheck.State.DOWN;
                one.put("status", "down");
                one.put("error", String.valueOf(e.getMessage()));
            }
            worst = state.compareTo(worst) > 0 ? state : worst;
            out.put(c.getKey(), one);
        }
        String status = draining ? "draining" : switch (worst) {
            case UP -> "ok";
            case DEGRADED -> "degraded";
            case DOWN -> "down";
        };
        Map<String, Object> whole = new LinkedHashMap<>();
        whole.put("status", status);
        whole.put("checks", out);
        try {
            return new HealthReport(JSON.writeValueAsString(whole), worst == HealthCheck.State.DOWN);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
