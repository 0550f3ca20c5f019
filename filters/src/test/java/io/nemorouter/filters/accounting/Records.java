package io.nemorouter.filters.accounting;

import java.util.List;

/** Records for tests. */
final class Records {
    private Records() {
    }

    static CallRecord record(String id, long time, String keyId, String model, int status, long in, long out, double cost,
                             double totalMs, String metadataJson, List<String> tags) {
        return new CallRecord(id, time, "/v1/chat/completions", model, "openai/" + model, "openai", keyId,
                keyId == null ? null : "alias-" + keyId, null, null, null, status, status >= 400 ? "upstream_status_" + status : null,
                false, totalMs, totalMs / 2, totalMs / 3, 0.05, in, out, 0, false, cost, false, "bypass", 0, List.of(),
                metadataJson, tags, null, null);
    }
}
