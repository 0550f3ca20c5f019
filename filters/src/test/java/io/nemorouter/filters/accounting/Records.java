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
                false, totalMs, totalMs / 2, totalMs / 3, 0.05, in, out, 0, false, cost, false, "bypass", 0, 0, List.of(),
                metadataJson, tags, null, null, null, null, null, null);
    }

    /** A call for a model the catalog does not have: refused before routing, so no deployment. */
    static CallRecord unrouted(String id, long time, String keyId, String model) {
        CallRecord r = record(id, time, keyId, model, 404, 0, 0, 0, 0.1, null, List.of());
        return new CallRecord(r.id(), r.time(), r.endpoint(), model, null, null, r.keyId(), r.keyAlias(), null, null, null,
                404, "model_not_found", false, 0.1, 0, 0, 0.05, 0, 0, 0, false, 0, false, "bypass", 0, 0, List.of(), null,
                List.of(), null, null, null, null, null, null);
    }
}
