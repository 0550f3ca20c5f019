package io.nemorouter.providers.responses;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.providers.translate.Sse;
import io.netty.buffer.ByteBuf;

import java.io.IOException;

/**
 * The members of one {@code chat.completion.chunk} the bridge uses, read with Jackson's streaming
 * parser: a text delta (most chunks) is read without building a tree (a tree was two thirds of a
 * bridged chunk's cost). Tool calls, usage and an error, rare, are read as trees.
 *
 * @param choice whether the chunk has a first choice (the usage chunk has none)
 */
record ChatChunk(String id, String model, boolean choice, String content, String reasoning, JsonNode toolCalls,
                 String finishReason, JsonNode usage, JsonNode error) {

    /** The chunk in {@code event}, or null when its data is not a JSON object. */
    static ChatChunk read(ByteBuf event) {
        try (JsonParser p = Sse.dataParser(event)) {
            if (p == null || p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            String id = null;
            String model = null;
            boolean choice = false;
            String[] delta = new String[3]; // content, reasoning, finish reason
            JsonNode toolCalls = null;
            JsonNode usage = null;
            JsonNode error = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                switch (name) {
                    case "id" -> id = p.getValueAsString();
                    case "model" -> model = p.getValueAsString();
                    case "usage" -> usage = v == JsonToken.START_OBJECT ? p.readValueAsTree() : null;
                    case "error" -> error = v == JsonToken.START_OBJECT ? p.readValueAsTree() : null;
                    case "choices" -> {
                        if (v == JsonToken.START_ARRAY) {
                            JsonToken first = p.nextToken();
                            if (first == JsonToken.START_OBJECT) {
                                choice = true;
                                toolCalls = choice(p, delta);
                            }
                            if (first != JsonToken.END_ARRAY) {
                                while (p.nextToken() != JsonToken.END_ARRAY) {
                                    p.skipChildren(); // choices after the first: n > 1 is not bridged
                                }
                            }
                        } else {
                            p.skipChildren();
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            return new ChatChunk(id, model, choice, delta[0], delta[1], toolCalls, delta[2], usage, error);
        } catch (IOException e) {
            return null;
        }
    }

    /** The first choice (its '{' read): the delta's text into {@code delta}, its tool calls returned. */
    private static JsonNode choice(JsonParser p, String[] delta) throws IOException {
        JsonNode toolCalls = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals("finish_reason")) {
                delta[2] = v == JsonToken.VALUE_STRING ? p.getText() : null;
            } else if (name.equals("delta") && v == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String member = p.currentName();
                    JsonToken m = p.nextToken();
                    switch (member) {
                        case "content" -> delta[0] = m == JsonToken.VALUE_STRING ? p.getText() : null;
                        case "reasoning_content" -> delta[1] = m == JsonToken.VALUE_STRING ? p.getText() : null;
                        case "tool_calls" -> toolCalls = m == JsonToken.START_ARRAY ? p.readValueAsTree() : null;
                        default -> p.skipChildren();
                    }
                }
            } else {
                p.skipChildren();
            }
        }
        return toolCalls;
    }
}
