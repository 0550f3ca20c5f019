package io.nemorouter.filters.cache;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;

/**
 * A stored answer as the client that asked now gets it. A plain body goes back as it was stored. A
 * stream is replayed whole, in one write (there is no generation to wait for), with its usage event
 * before {@code data: [DONE]} when this client asked for it ({@code stream_options.include_usage}).
 * The answer's {@code id} and {@code created} are the stored ones: a replay is the same completion
 * again, and within one response nothing repeats.
 */
final class Replay {
    private Replay() {
    }

    static FullHttpResponse of(CacheEntry e, boolean includeUsage) {
        byte[] body = e.body();
        if (e.streamed() && includeUsage) {
            body = withUsageEvent(e);
        }
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, e.contentType() != null ? e.contentType() : "application/json");
        if (e.streamed()) {
            r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        }
        return r;
    }

    /** The stored events with a usage chunk (as OpenAI sends it: no choices, the usage) before {@code [DONE]}. */
    static byte[] withUsageEvent(CacheEntry e) {
        String events = new String(e.body(), StandardCharsets.UTF_8);
        String usage = usageEvent(events, e.model(), e.createdMillis(), e.promptTokens(), e.completionTokens(), e.cachedTokens());
        String last = "data: [DONE]\n\n";
        if (!events.endsWith(last)) {
            return (events + usage).getBytes(StandardCharsets.UTF_8);
        }
        // before the stream's own closing event (the text may mention "data: [DONE]" anywhere else)
        return (events.substring(0, events.length() - last.length()) + usage + last).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The usage chunk of a stream whose events start with {@code events} (its {@code id},
     * {@code created} and {@code model} are taken from them; else the gateway's own).
     */
    static String usageEvent(String events, String model, long createdMillis, long prompt, long completion, long cached) {
        String id = member(events, "id");
        String streamModel = member(events, "model");
        String created = number(events, "created");
        return "data: {\"id\":\"" + (id == null ? "chatcmpl-cache" : id) + "\",\"object\":\"chat.completion.chunk\","
                + "\"created\":" + (created == null ? Long.toString(createdMillis / 1000) : created) + ","
                + "\"model\":\"" + (streamModel == null ? model : streamModel) + "\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
                + prompt + ",\"completion_tokens\":" + completion + ",\"total_tokens\":" + (prompt + completion)
                + (cached > 0 ? ",\"prompt_tokens_details\":{\"cached_tokens\":" + cached + "}" : "")
                + "}}\n\n";
    }

    /** The first {@code "name":"value"} string in the events, or null. */
    private static String member(String events, String name) {
        String k = "\"" + name + "\":\"";
        int at = events.indexOf(k);
        if (at < 0) {
            return null;
        }
        int end = events.indexOf('"', at + k.length());
        return end < 0 ? null : events.substring(at + k.length(), end);
    }

    private static String number(String events, String name) {
        String k = "\"" + name + "\":";
        int at = events.indexOf(k);
        if (at < 0) {
            return null;
        }
        int i = at + k.length();
        int j = i;
        while (j < events.length() && Character.isDigit(events.charAt(j))) {
            j++;
        }
        return j > i ? events.substring(i, j) : null;
    }
}
