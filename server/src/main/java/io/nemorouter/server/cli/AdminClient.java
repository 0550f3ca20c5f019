package io.nemorouter.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The gateway's admin API, called with the master key: JSON in, JSON out. An error answer is a
 * {@link Failure} with the status and the envelope's message; a gateway that cannot be reached is one
 * naming its URL.
 */
final class AdminClient {
    static final ObjectMapper JSON = new ObjectMapper();
    /** The API's largest page: lists are read whole, a page at a time. */
    static final int PAGE_SIZE = 500;
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private final String url;
    private final String masterKey;

    AdminClient(String url, String masterKey) {
        this.url = url;
        this.masterKey = masterKey;
    }

    JsonNode get(String path, Map<String, String> query) throws Failure, InterruptedException {
        StringBuilder uri = new StringBuilder(url).append(path);
        char separator = '?';
        for (Map.Entry<String, String> p : query.entrySet()) {
            uri.append(separator).append(p.getKey()).append('=').append(URLEncoder.encode(p.getValue(), StandardCharsets.UTF_8));
            separator = '&';
        }
        return send(HttpRequest.newBuilder(URI.create(uri.toString())).GET());
    }

    JsonNode post(String path, JsonNode body) throws Failure, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(url + path)).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
    }

    /**
     * Every page of a list route, as one answer of the API's shape: {@code member} holds the items
     * of all pages, {@code total_count} their number.
     */
    ObjectNode listAll(String path, Map<String, String> query, String member) throws Failure, InterruptedException {
        ArrayNode items = JSON.createArrayNode();
        int pages = 1;
        for (int page = 1; page <= pages; page++) {
            Map<String, String> q = new LinkedHashMap<>(query);
            q.put("page", Integer.toString(page));
            q.put("size", Integer.toString(PAGE_SIZE));
            JsonNode answer = get(path, q);
            answer.path(member).forEach(items::add);
            pages = answer.path("total_pages").asInt(1);
        }
        ObjectNode all = JSON.createObjectNode();
        all.set(member, items);
        all.put("total_count", items.size());
        return all;
    }

    private JsonNode send(HttpRequest.Builder request) throws Failure, InterruptedException {
        HttpResponse<String> r;
        try {
            r = HTTP.send(request.header("authorization", "Bearer " + masterKey).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw Failure.unreachable(url, e);
        }
        JsonNode body;
        try {
            body = JSON.readTree(r.body());
        } catch (JsonProcessingException e) {
            body = null;
        }
        if (r.statusCode() != 200) {
            JsonNode message = body == null ? null : body.path("error").get("message");
            throw Failure.api(r.statusCode(), message != null ? message.asText() : firstLine(r.body()));
        }
        if (body == null || !body.isObject()) {
            throw Failure.unusable(url + " answered " + firstLine(r.body()) + ", not the admin API's JSON; is --url a Nemo Router?");
        }
        return body;
    }

    private static String firstLine(String text) {
        String line = text.strip().lines().findFirst().orElse("(an empty body)");
        return line.length() > 200 ? line.substring(0, 200) + "…" : line;
    }
}
