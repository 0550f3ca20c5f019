package io.nemorouter.core.openai;

import io.nemorouter.core.internal.json.Json;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;

/**
 * An error in OpenAI's envelope, {@code {"error":{"message","type","param","code"}}}, so SDKs
 * raise their typed errors (BadRequestError, NotFoundError, ...) for gateway answers too.
 */
public record OpenAiError(HttpResponseStatus status, String type, String code, String param, String message) {

    public static OpenAiError badRequest(String code, String param, String message) {
        return new OpenAiError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", code, param, message);
    }

    public static OpenAiError modelNotFound(String model) {
        return new OpenAiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error", "model_not_found", "model",
                "The model `" + model + "` does not exist or you do not have access to it.");
    }

    public static OpenAiError upstream(HttpResponseStatus status, String code, String message) {
        return new OpenAiError(status, "upstream_error", code, null, message);
    }

    public static OpenAiError internal(String message) {
        return new OpenAiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "server_error", "internal_error", null, message);
    }

    /** The JSON object {@code {"error":{...}}}. */
    public String json() {
        StringBuilder b = new StringBuilder(96 + message.length());
        b.append("{\"error\":{\"message\":");
        Json.appendQuoted(b, message);
        b.append(",\"type\":");
        Json.appendQuoted(b, type);
        b.append(",\"param\":");
        if (param == null) {
            b.append("null");
        } else {
            Json.appendQuoted(b, param);
        }
        b.append(",\"code\":");
        if (code == null) {
            b.append("null");
        } else {
            Json.appendQuoted(b, code);
        }
        return b.append("}}").toString();
    }

    public FullHttpResponse toResponse(ByteBufAllocator alloc) {
        ByteBuf body = alloc.buffer();
        body.writeCharSequence(json(), StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        return r;
    }

    /** The same error as a final server-sent event, for a stream that cannot finish. */
    public String sseEvent() {
        return "data: " + json() + "\n\n";
    }
}
