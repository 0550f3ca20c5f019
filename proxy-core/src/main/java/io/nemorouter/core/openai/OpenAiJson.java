package io.nemorouter.core.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.internal.json.Json;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The Jackson mapper for request and answer bodies. Jackson's default limits (strings up to 20
 * million characters) are below what a request may carry (a base64 image, a long document), and
 * the body size is already bounded by {@code nemo.server.max_body_size}: so strings and numbers are
 * limited only by that, and nesting as deep as the gateway's own scanner allows.
 */
public final class OpenAiJson {
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxStringLength(Integer.MAX_VALUE)
                .maxNumberLength(Integer.MAX_VALUE)
                .maxNestingDepth(io.nemorouter.core.internal.json.JsonCursor.MAX_DEPTH)
                .build());
    }

    private OpenAiJson() {
    }

    /**
     * {@code body} as a JSON object.
     *
     * @throws InvalidBodyException (a 400) when it is empty, not JSON, or not an object
     */
    public static ObjectNode parseObject(ByteBuf body) {
        if (body == null || !body.isReadable()) {
            throw new InvalidBodyException(OpenAiError.badRequest("invalid_json", null,
                    "The request body is empty; expected a JSON object."));
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(new ByteBufInputStream(body.duplicate()));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new InvalidBodyException(OpenAiError.badRequest("invalid_json", null,
                    "The request body is not valid JSON: " + e.getOriginalMessage() + "."));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // reading a buffer in memory does not fail this way
        }
        if (!(node instanceof ObjectNode o)) {
            throw new InvalidBodyException(OpenAiError.badRequest("invalid_json", null, "The request body must be a JSON object."));
        }
        return o;
    }

    static byte[] bytes(JsonNode value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode tree(byte[] json) {
        try {
            return MAPPER.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a JSON value: " + new String(json, StandardCharsets.UTF_8), e);
        }
    }

    static byte[] quoted(String s) {
        return Json.quote(s).getBytes(StandardCharsets.UTF_8);
    }
}
