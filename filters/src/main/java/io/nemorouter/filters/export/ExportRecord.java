package io.nemorouter.filters.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One request-log record as an exporter sees it: the log's JSON object (the same members as a line
 * of the request log, documented in the README), after this exporter's redaction: no key hash ever,
 * the prompt and completion only with {@code include_bodies = true}, masked metadata members
 * replaced by {@code "***"}. Read-only by contract: exporters share nothing, but must not edit it.
 */
public final class ExportRecord {
    private final ObjectNode json;
    private final byte[] bytes;

    ExportRecord(ObjectNode json, byte[] bytes) {
        this.json = json;
        this.bytes = bytes;
    }

    /** The record as a JSON object. */
    public ObjectNode json() {
        return json;
    }

    /** The record as compact JSON (UTF-8), ready to send. */
    public byte[] bytes() {
        return bytes;
    }

    public String id() {
        return json.path("id").asText(null);
    }

    /** When the call ended, epoch milliseconds. */
    public long timeMillis() {
        return json.path("ts").asLong();
    }

    public String text(String member) {
        JsonNode n = json.get(member);
        return n == null || n.isNull() ? null : n.asText();
    }

    /** A member of the request's {@code metadata} as text (a number or boolean too), or null. */
    public String metadata(String member) {
        JsonNode n = json.path("metadata").get(member);
        return n == null || n.isNull() || n.isContainerNode() ? null : n.asText();
    }
}
