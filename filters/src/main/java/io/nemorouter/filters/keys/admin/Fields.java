package io.nemorouter.filters.keys.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.filters.keys.state.BudgetDuration;
import io.nemorouter.filters.keys.store.Limits;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The members of one admin request body, read and checked one by one: a wrong type or value, or a
 * member the endpoint does not know, is a {@link BadField} naming it (answered 400 with {@code param}).
 */
final class Fields {
    /** A member that cannot be used: the 400 names it. */
    static final class BadField extends RuntimeException {
        final String field;

        BadField(String field, String message) {
            super(message, null, false, false);
            this.field = field;
        }
    }

    /** Bounds that keep a record small (the store sizes its files by a typical record). */
    static final int MAX_ITEMS = 1000;
    static final int MAX_OBJECT_CHARS = 16 * 1024;

    static final Set<String> LIMIT_FIELDS = Set.of("max_budget", "budget_duration", "rpm_limit", "tpm_limit", "max_parallel_requests");

    private final ObjectNode body;

    Fields(ObjectNode body, Set<String> known) {
        this.body = body;
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name)) {
                throw new BadField(name, "Unknown field `" + name + "`; this endpoint takes " + String.join(", ", new java.util.TreeSet<>(known)) + ".");
            }
        }
    }

    boolean has(String name) {
        return body.has(name);
    }

    /** A string, or null when absent or null. */
    String string(String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual() || v.asText().isBlank() || v.asText().length() > 256) {
            throw new BadField(name, "`" + name + "` must be a non-empty string of at most 256 characters.");
        }
        return v.asText();
    }

    String required(String name) {
        String v = string(name);
        if (v == null) {
            throw new BadField(name, "`" + name + "` is required.");
        }
        return v;
    }

    Double usd(String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber() || v.asDouble() < 0 || !Double.isFinite(v.asDouble()) || v.asDouble() > 1e9) {
            throw new BadField(name, "`" + name + "` must be a number of US dollars from 0 to 1e9.");
        }
        return v.asDouble();
    }

    Long count(String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < 1) {
            throw new BadField(name, "`" + name + "` must be a positive integer.");
        }
        return v.asLong();
    }

    Boolean bool(String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isBoolean()) {
            throw new BadField(name, "`" + name + "` must be true or false.");
        }
        return v.asBoolean();
    }

    List<String> strings(String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw new BadField(name, "`" + name + "` must be an array of strings.");
        }
        if (v.size() > MAX_ITEMS) {
            throw new BadField(name, "`" + name + "` may hold at most " + MAX_ITEMS + " items.");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode s : v) {
            if (!s.isTextual() || s.asText().isBlank()) {
                throw new BadField(name, "`" + name + "` must be an array of non-empty strings.");
            }
            out.add(s.asText());
        }
        return List.copyOf(out);
    }

    Map<String, Object> object(String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw new BadField(name, "`" + name + "` must be an object.");
        }
        if (v.toString().length() > MAX_OBJECT_CHARS) {
            throw new BadField(name, "`" + name + "` may be at most " + MAX_OBJECT_CHARS + " characters of JSON.");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = AdminJson.MAPPER.convertValue(v, LinkedHashMap.class);
        return m;
    }

    String duration(String name) {
        String v = string(name);
        if (v != null && BudgetDuration.parse(v) == null) {
            throw new BadField(name, "`" + name + "` must be a duration such as 30m, 1h, 1d, 7d, 30d or 1mo.");
        }
        return v;
    }

    /** An expiry: {@code duration} ("30d": from now) or {@code expires} (an ISO-8601 instant); null when neither. */
    Long expiry(long now) {
        String d = duration("duration");
        String at = string("expires");
        if (d != null && at != null) {
            throw new BadField("expires", "Give `duration` or `expires`, not both.");
        }
        if (d != null) {
            return BudgetDuration.parse(d).end(now);
        }
        if (at != null) {
            try {
                return Instant.parse(at).toEpochMilli();
            } catch (DateTimeParseException e) {
                throw new BadField("expires", "`expires` must be an ISO-8601 instant such as 2027-01-31T00:00:00Z.");
            }
        }
        return null;
    }

    /** The limit members over {@code base} (a member set to null clears that limit). */
    Limits limits(Limits base) {
        Limits b = base == null ? Limits.NONE : base;
        Long parallel = has("max_parallel_requests") ? count("max_parallel_requests") : b.maxParallelRequests() == null ? null : (long) b.maxParallelRequests();
        if (parallel != null && parallel > Integer.MAX_VALUE) {
            throw new BadField("max_parallel_requests", "`max_parallel_requests` is too large.");
        }
        return new Limits(
                has("max_budget") ? usd("max_budget") : b.maxBudget(),
                has("budget_duration") ? duration("budget_duration") : b.budgetDuration(),
                has("rpm_limit") ? count("rpm_limit") : b.rpmLimit(),
                has("tpm_limit") ? count("tpm_limit") : b.tpmLimit(),
                parallel == null ? null : parallel.intValue(),
                has("soft_budget") ? usd("soft_budget") : b.softBudget(),
                has("alert_thresholds") ? percents("alert_thresholds") : b.alertThresholds());
    }

    /** Alert thresholds: whole percents from 1 to 1000, kept ascending and without repeats. */
    List<Integer> percents(String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray() || v.size() > 20) {
            throw new BadField(name, "`" + name + "` must be an array of at most 20 percents, e.g. [50, 80, 100].");
        }
        java.util.TreeSet<Integer> out = new java.util.TreeSet<>();
        for (JsonNode n : v) {
            if (!n.isIntegralNumber() || n.asInt() < 1 || n.asInt() > 1000) {
                throw new BadField(name, "`" + name + "` must hold whole percents from 1 to 1000.");
            }
            out.add(n.asInt());
        }
        return List.copyOf(out);
    }
}
