package io.nemorouter.filters.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * An alert target of {@code type = slack}: budget alerts as one message to a Slack incoming webhook
 * ({@code {"text": "..."}}, a line per alert); any Slack-compatible receiver (Mattermost, Rocket.Chat) takes it too.
 */
final class SlackAlerts implements Exporter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ExportEnvironment env;
    private final URI url;
    private final Duration timeout;

    SlackAlerts(ExportEnvironment env, URI url, Duration timeout) {
        this.env = env;
        this.url = url;
        this.timeout = timeout;
    }

    static SlackAlerts of(Config entry, ExportEnvironment env) {
        if (!entry.hasPath("url") || entry.getString("url").isEmpty()) {
            throw new IllegalArgumentException("url: required for Slack (from the environment, e.g. url = ${?SLACK_WEBHOOK_URL})");
        }
        return new SlackAlerts(env, HttpUrls.parse(entry.getString("url"), "url"), entry.getDuration("timeout"));
    }

    @Override
    public Delivery send(List<ExportRecord> batch) throws Exception {
        StringBuilder text = new StringBuilder();
        for (ExportRecord r : batch) {
            if (!text.isEmpty()) {
                text.append('\n');
            }
            text.append(line(r.json()));
        }
        ObjectNode body = JSON.createObjectNode().put("text", text.toString());
        HttpRequest req = HttpRequest.newBuilder(url).timeout(timeout)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                .build();
        return Delivery.of(env.http().send(req, HttpResponse.BodyHandlers.discarding()));
    }

    /** ":warning: Budget alert: key invoices-batch has spent $64.20, 80% of its soft budget of $80.00." */
    static String line(ObjectNode a) {
        String who = a.path("alias").isTextual() ? a.path("alias").asText() : a.path("id").asText();
        return String.format(Locale.ROOT, ":warning: Budget alert: %s *%s* has spent $%.2f, %d%% of its %s of $%.2f this period.",
                a.path("level").asText(), who, a.path("spend").asDouble(), a.path("threshold").asInt(),
                "soft_budget".equals(a.path("of").asText()) ? "soft budget" : "budget", a.path("base").asDouble());
    }
}
