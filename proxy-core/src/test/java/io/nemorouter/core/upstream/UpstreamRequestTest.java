package io.nemorouter.core.upstream;

import io.nemorouter.core.internal.http1.WireBytes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The bytes of an upstream request, as the upstream reads them. */
class UpstreamRequestTest {
    private static final String BODY = "{\"model\":\"m\",\"messages\":[]}";

    private static UpstreamRequest request(String body) {
        return request(body, List.of());
    }

    private static UpstreamRequest request(String body, List<Map.Entry<String, String>> set) {
        DefaultHttpHeaders client = new DefaultHttpHeaders();
        client.add("Authorization", "Bearer client-key").add("X-Stainless-Lang", "js").add("Connection", "keep-alive")
                .add("Content-Length", "999").add("x-latin", "caf\u00e9");
        byte[] preamble = UpstreamRequest.preamble(Origin.parse("http://up:8000/v1"), "/chat/completions");
        return new UpstreamRequest(preamble, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8))
                .clientHeaders(client, set)
                .headerTrusted(HttpHeaderNames.CONTENT_TYPE, "application/json")
                .header(UpstreamRequest.headerLine("authorization", "Bearer sk-up"));
    }

    @Test
    void aSmallRequestIsOneBufferWithTheClientsEndToEndHeadersTheGatewaysAndTheBody() {
        ByteBuf wire = request(BODY).finish(UnpooledByteBufAllocator.DEFAULT);
        assertEquals("POST /v1/chat/completions HTTP/1.1\r\nhost: up:8000\r\n"
                + "X-Stainless-Lang: js\r\nx-latin: caf\u00e9\r\n"
                + "content-type: application/json\r\nauthorization: Bearer sk-up\r\n"
                + "content-length: " + BODY.length() + "\r\n\r\n" + BODY, wire.toString(StandardCharsets.ISO_8859_1));
        wire.release();
    }

    @Test
    void headersSetOnTheExchangeTakeThePlaceOfTheClientsOfTheSameName() {
        ByteBuf wire = request(BODY, List.of(Map.entry("x-stainless-lang", "set"), Map.entry("traceparent", "00-abc")))
                .finish(UnpooledByteBufAllocator.DEFAULT);
        assertEquals("POST /v1/chat/completions HTTP/1.1\r\nhost: up:8000\r\n"
                + "x-latin: caf\u00e9\r\nx-stainless-lang: set\r\ntraceparent: 00-abc\r\n"
                + "content-type: application/json\r\nauthorization: Bearer sk-up\r\n"
                + "content-length: " + BODY.length() + "\r\n\r\n" + BODY, wire.toString(StandardCharsets.ISO_8859_1));
        wire.release();
    }

    @Test
    void aLargeBodyFollowsTheHeadWithoutACopy() {
        String body = "{\"x\":\"" + "a".repeat(40_000) + "\"}";
        ByteBuf wire = request(body).finish(UnpooledByteBufAllocator.DEFAULT);
        String text = wire.toString(StandardCharsets.ISO_8859_1);
        assertEquals("content-length: " + body.length() + "\r\n\r\n" + body,
                text.substring(text.indexOf("content-length: ")));
        wire.release();
    }

    /**
     * The thread's array is taken only when the request is finished: a provider may build a request,
     * wait (for a token, say) and send it later, with other messages built on the thread meanwhile.
     */
    @Test
    void anotherMessageBuiltMeanwhileDoesNotDisturbIt() {
        UpstreamRequest r = request(BODY);
        WireBytes.start(0).put("HTTP/1.1 200 OK\r\nsomething: else\r\n".getBytes(StandardCharsets.US_ASCII));
        ByteBuf wire = r.finish(UnpooledByteBufAllocator.DEFAULT);
        ByteBuf alone = request(BODY).finish(UnpooledByteBufAllocator.DEFAULT);
        assertEquals(alone.toString(StandardCharsets.ISO_8859_1), wire.toString(StandardCharsets.ISO_8859_1));
        wire.release();
        alone.release();
    }
}
