package io.nemorouter.filters.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * {@code type = langfuse}: each record as a trace and its generation through Langfuse's public
 * ingestion API ({@code POST <host>/api/public/ingestion}, basic auth with the project's public and
 * secret key). Event ids derive from the record's id, so a batch sent again after a failure is
 * deduplicated by Langfuse rather than counted twice. The trace names the key's alias as its user
 * and carries the tags and metadata ({@code job_id}, {@code stage}); the generation has the model,
 * timings (time to first token for streams), usage, cost and, when the entry includes bodies, the
 * input and output.
 */
public final class LangfuseExporter implements Exporter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ExportEnvironment env;
    private final URI url;
    private final String authorization;
    private final String environment;
    private final Duration timeout;

    LangfuseExporter(ExportEnvironment env, URI url, String publicKey, String secretKey, String environment, Duration timeout) {
        this.env = env;
        this.url = url;
        this.authorization = "Basic " + Base64.getEncoder().encodeToString((publicKey + ":" + secretKey).getBytes(StandardCharsets.UTF_8));
        this.environment = environment;
        this.timeout = timeout;
    }

    @Override
    public Delivery send(List<ExportRecord> batch) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode events = body.putArray("batch");
        for (ExportRecord r : batch) {
            events.add(event(r.id() + "-trace", "trace-create", r.timeMillis(), trace(r)));
            events.add(event(r.id() + "-generation", "generation-create", r.timeMillis(), generation(r)));
        }
        body.putObject("metadata").put("sdk_name", "nemo-router");
        HttpRequest req = HttpRequest.newBuilder(url).timeout(timeout)
                .header("content-type", "application/json")
                .header("authorization", authorization)
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                .build();
        HttpResponse<byte[]> response = env.http().send(req, HttpResponse.BodyHandlers.ofByteArray());
        return response.statusCode() == 207 ? multiStatus(response.body()) : Delivery.of(response);
    }

    /**
     * Langfuse answers 207 with an error per event it could not take: a server-side one (5xx) is worth
     * sending the batch again (the events it took are deduplicated); a refusal (4xx) is not.
     */
    static Delivery multiStatus(byte[] body) {
        JsonNode errors;
        try {
            errors = JSON.readTree(body).path("errors");
        } catch (java.io.IOException e) {
            return Delivery.DELIVERED;
        }
        if (errors.isEmpty()) {
            return Delivery.DELIVERED;
        }
        for (JsonNode e : errors) {
            if (e.path("status").asInt() >= 500) {
                return Delivery.retry(errors.size() + " events failed at Langfuse: " + e.path("message").asText(), null);
            }
        }
        return Delivery.refused(errors.size() + " events refused by Langfuse: " + errors.get(0).path("message").asText());
    }

    private static ObjectNode event(String id, String type, long millis, ObjectNode body) {
        ObjectNode e = JSON.createObjectNode();
        e.put("id", id);
        e.put("type", type);
        e.put("timestamp", Instant.ofEpochMilli(millis).toString());
        e.set("body", body);
        return e;
    }

    ObjectNode trace(ExportRecord r) {
        ObjectNode t = JSON.createObjectNode();
        t.put("id", r.id());
        t.put("timestamp", start(r).toString());
        t.put("name", r.text("endpoint"));
        String user = r.text("key_alias") != null ? r.text("key_alias") : r.text("key_id");
        if (user != null) {
            t.put("userId", user);
        }
        if (environment != null) {
            t.put("environment", environment);
        }
        ObjectNode meta = t.putObject("metadata");
        if (r.json().get("metadata") instanceof ObjectNode m) {
            meta.setAll(m);
        }
        for (String member : List.of("team_id", "org_id", "key_id")) {
            if (r.text(member) != null) {
                meta.put(member, r.text(member));
            }
        }
        if (r.json().get("tags") instanceof ArrayNode tags) {
            t.set("tags", tags);
        }
        bodies(r, t);
        return t;
    }

    ObjectNode generation(ExportRecord r) {
        ObjectNode g = JSON.createObjectNode();
        Instant start = start(r);
        g.put("id", r.id() + "-generation");
        g.put("traceId", r.id());
        g.put("name", r.text("endpoint"));
        g.put("model", r.text("model"));
        g.put("startTime", start.toString());
        g.put("endTime", Instant.ofEpochMilli(r.timeMillis()).toString());
        double ttft = r.json().path("ttft_ms").asDouble(0);
        if (r.json().path("stream").asBoolean() && ttft > 0) {
            g.put("completionStartTime", start.plusNanos((long) (ttft * 1e6)).toString());
        }
        if (environment != null) {
            g.put("environment", environment);
        }
        ObjectNode usage = g.putObject("usageDetails");
        long input = r.json().path("input_tokens").asLong();
        long output = r.json().path("output_tokens").asLong();
        usage.put("input", input);
        usage.put("output", output);
        usage.put("total", input + output);
        if (r.json().path("cached_tokens").asLong() > 0) {
            usage.put("input_cached_tokens", r.json().path("cached_tokens").asLong());
        }
        g.putObject("costDetails").put("total", r.json().path("cost").asDouble());
        ObjectNode meta = g.putObject("metadata");
        for (String member : List.of("deployment", "provider", "cache", "variant")) {
            if (r.text(member) != null) {
                meta.put(member, r.text(member));
            }
        }
        meta.put("fallbacks", r.json().path("fallbacks").asInt());
        meta.put("status", r.json().path("status").asInt());
        if (r.json().path("status").asInt() >= 400) {
            g.put("level", "ERROR");
            g.put("statusMessage", r.text("error") != null ? r.text("error") : "HTTP " + r.json().path("status").asInt());
        }
        bodies(r, g);
        return g;
    }

    /** The input (the request's JSON when it parses, else its text) and output, when the entry includes bodies. */
    private static void bodies(ExportRecord r, ObjectNode target) {
        String prompt = r.text("prompt");
        if (prompt != null) {
            try {
                JsonNode request = JSON.readTree(prompt);
                target.set("input", request.has("messages") ? request.get("messages") : request);
            } catch (java.io.IOException cut) {
                target.put("input", prompt); // capped mid-body: the text as logged
            }
        }
        if (r.text("completion") != null) {
            target.put("output", r.text("completion"));
        }
    }

    /** When the call began: its end less its total time. */
    private static Instant start(ExportRecord r) {
        return Instant.ofEpochMilli(r.timeMillis()).minusNanos((long) (r.json().path("total_ms").asDouble() * 1e6));
    }

    /** Makes Langfuse exporters. */
    public static final class Factory implements ExporterFactory {
        @Override
        public String type() {
            return "langfuse";
        }

        @Override
        public Set<String> keys() {
            return Set.of("host", "public_key", "secret_key", "environment");
        }

        @Override
        public Set<String> secretKeys() {
            return Set.of("public_key", "secret_key");
        }

        @Override
        public Exporter create(Config entry, ExportEnvironment env) {
            for (String key : List.of("public_key", "secret_key")) {
                if (!entry.hasPath(key) || entry.getString(key).isEmpty()) {
                    throw new IllegalArgumentException(key + ": required for Langfuse (from the environment, e.g. "
                            + key + " = ${?LANGFUSE_" + key.toUpperCase() + "})");
                }
            }
            String host = entry.hasPath("host") ? entry.getString("host") : "https://cloud.langfuse.com";
            URI url = HttpUrls.parse(host.replaceAll("/+$", "") + "/api/public/ingestion", "host");
            return new LangfuseExporter(env, url, entry.getString("public_key"), entry.getString("secret_key"),
                    entry.hasPath("environment") ? entry.getString("environment") : null, entry.getDuration("timeout"));
        }
    }
}
