package io.nemorouter.filters.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code type = datadog}: each batch to Datadog's HTTP logs intake ({@code /api/v2/logs} on
 * {@code http-intake.logs.<site>}) with {@code DD-API-KEY}: one log per record, the record under
 * {@code nemo}, {@code service}, {@code ddsource}, {@code hostname}, the log {@code status} (info, or
 * error for a failed call) and {@code ddtags} from the configured tags, the call's model, provider,
 * cache decision, its tags and its {@code job_id} and {@code stage}.
 */
public final class DatadogExporter implements Exporter {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The intake takes at most 1,000 logs a request. */
    static final int MAX_BATCH = 1000;

    private final ExportEnvironment env;
    private final URI url;
    private final String apiKey;
    private final String service;
    private final String source;
    private final String staticTags;
    private final Duration timeout;

    DatadogExporter(ExportEnvironment env, URI url, String apiKey, String service, String source, List<String> tags, Duration timeout) {
        this.env = env;
        this.url = url;
        this.apiKey = apiKey;
        this.service = service;
        this.source = source;
        this.staticTags = String.join(",", tags);
        this.timeout = timeout;
    }

    @Override
    public Delivery send(List<ExportRecord> batch) throws Exception {
        List<byte[]> logs = new ArrayList<>(batch.size());
        for (ExportRecord r : batch) {
            logs.add(JSON.writeValueAsBytes(log(r)));
        }
        HttpRequest req = HttpRequest.newBuilder(url).timeout(timeout)
                .header("content-type", "application/json")
                .header("dd-api-key", apiKey)
                .POST(HttpRequest.BodyPublishers.ofByteArray(JsonArrayBody.of("", logs, "")))
                .build();
        return Delivery.of(env.http().send(req, HttpResponse.BodyHandlers.discarding()));
    }

    /** One record as a Datadog log. */
    ObjectNode log(ExportRecord r) {
        ObjectNode log = JSON.createObjectNode();
        log.put("ddsource", source);
        log.put("service", service);
        log.put("hostname", env.hostname());
        log.put("timestamp", r.timeMillis());
        int status = r.json().path("status").asInt();
        log.put("status", status >= 400 ? "error" : "info");
        log.put("ddtags", tags(r));
        log.put("message", r.text("model") + " " + status + " " + r.json().path("total_ms").asText() + " ms");
        log.set("nemo", r.json());
        return log;
    }

    private String tags(ExportRecord r) {
        StringBuilder b = new StringBuilder(staticTags);
        tag(b, "model", r.text("model"));
        tag(b, "provider", r.text("provider"));
        tag(b, "cache", r.text("cache"));
        tag(b, "job_id", r.metadata("job_id"));
        tag(b, "stage", r.metadata("stage"));
        for (JsonNode t : r.json().path("tags")) {
            tag(b, "tag", t.asText());
        }
        return b.toString();
    }

    /** {@code name:value}, with what Datadog would split a tag on (commas) replaced. */
    private static void tag(StringBuilder b, String name, String value) {
        if (value == null || value.isEmpty()) {
            return;
        }
        if (!b.isEmpty()) {
            b.append(',');
        }
        b.append(name).append(':').append(value.replace(',', '_'));
    }

    /** Makes Datadog exporters. */
    public static final class Factory implements ExporterFactory {
        @Override
        public String type() {
            return "datadog";
        }

        @Override
        public Set<String> keys() {
            return Set.of("api_key", "site", "url", "service", "source", "tags");
        }

        @Override
        public Set<String> secretKeys() {
            return Set.of("api_key");
        }

        @Override
        public Exporter create(Config entry, ExportEnvironment env) {
            String apiKey = entry.hasPath("api_key") ? entry.getString("api_key") : "";
            if (apiKey.isEmpty()) {
                throw new IllegalArgumentException("api_key: required for Datadog (from the environment, e.g. api_key = ${?DD_API_KEY})");
            }
            String site = entry.hasPath("site") ? entry.getString("site") : "datadoghq.com";
            URI url = HttpUrls.parse(entry.hasPath("url") ? entry.getString("url")
                    : "https://http-intake.logs." + site + "/api/v2/logs", entry.hasPath("url") ? "url" : "site");
            if (entry.getInt("batch_size") > MAX_BATCH) {
                throw new IllegalArgumentException("batch_size: Datadog takes at most " + MAX_BATCH + " logs a request");
            }
            return new DatadogExporter(env, url, apiKey,
                    entry.hasPath("service") ? entry.getString("service") : "nemo-router",
                    entry.hasPath("source") ? entry.getString("source") : "nemo-router",
                    entry.hasPath("tags") ? entry.getStringList("tags") : List.of(),
                    entry.getDuration("timeout"));
        }
    }
}
