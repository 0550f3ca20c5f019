package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequestDecoder;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The fast way makes what Netty's decoder and aggregator make, and leaves them everything else. */
class WholeRequestTest {
    private static final WholeRequest WHOLE = new WholeRequest(4096, 8192, 1 << 20);
    private static final String BODY = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"héllo\"}]}";

    private static String post(String headers, String body) {
        int length = body.getBytes(StandardCharsets.ISO_8859_1).length;
        return "POST /v1/chat/completions HTTP/1.1\r\nHost: gw:4000\r\n" + headers + "Content-Length: " + length + "\r\n\r\n" + body;
    }

    /** Latin-1, one byte per char, as headers are on the wire. */
    private static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    /** What Netty's decoder and aggregator make of the same bytes. */
    private static FullHttpRequest netty(String s) {
        EmbeddedChannel ch = new EmbeddedChannel(new HttpRequestDecoder(), new HttpObjectAggregator(1 << 20));
        ch.writeInbound(bytes(s));
        FullHttpRequest r = ch.readInbound();
        ch.finishAndReleaseAll();
        return r;
    }

    private static void assertSame(FullHttpRequest expected, FullHttpRequest actual) {
        // the raw headers' own answers first: reading the entries builds their map
        HttpHeaders want = expected.headers();
        HttpHeaders got = actual.headers();
        assertEquals(want.size(), got.size());
        assertEquals(want.isEmpty(), got.isEmpty());
        for (String name : new String[]{"authorization", "AUTHORIZATION", "content-length", "connection", "x-padded",
                "x-latin", "X-Stainless-Lang", "host", "absent", "x-request-i"}) {
            assertEquals(want.get(name), got.get(name), name);
            for (String value : new String[]{"close", "keep-alive", "Upgrade", "upgrade"}) {
                for (boolean ignoreCase : new boolean[]{true, false}) {
                    assertEquals(want.containsValue(name, value, ignoreCase), got.containsValue(name, value, ignoreCase),
                            name + " " + value + " " + ignoreCase);
                }
            }
        }
        java.util.function.Predicate<CharSequence> notHost = n -> !io.netty.util.AsciiString.contentEqualsIgnoreCase(n, "host");
        ByteBuf wantLines = Unpooled.buffer();
        for (var it = want.iteratorCharSequence(); it.hasNext(); ) {
            var h = it.next();
            if (notHost.test(h.getKey())) {
                wantLines.writeCharSequence(h.getKey() + ": " + h.getValue() + "\r\n", StandardCharsets.ISO_8859_1);
            }
        }
        // the raw lines as the upstream request copies them, and the decoder's map written the general way
        WireBytes raw = WireBytes.start(0);
        ((RawRequestHeaders) got).writeLines(raw, notHost);
        assertEquals(wantLines.toString(StandardCharsets.ISO_8859_1), text(raw));
        assertEquals(wantLines.toString(StandardCharsets.ISO_8859_1), text(WireBytes.start(0).headerLines(want, notHost)));
        assertEquals(expected.method(), actual.method());
        assertEquals(expected.uri(), actual.uri());
        assertEquals(expected.protocolVersion(), actual.protocolVersion());
        assertEquals(expected.headers().entries().toString(), actual.headers().entries().toString());
        assertEquals(expected.content().toString(StandardCharsets.UTF_8), actual.content().toString(StandardCharsets.UTF_8));
    }

    private static String text(WireBytes wire) {
        ByteBuf b = wire.copyTo(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
        String s = b.toString(StandardCharsets.ISO_8859_1);
        b.release();
        return s;
    }

    @Test
    void plainRequestsComeOutAsNettyMakesThem() {
        String[] plain = {
                post("Authorization: Bearer sk-1\r\nContent-Type: application/json\r\nX-Stainless-Lang: js\r\n"
                        + "user-agent:OpenAI/JS 4.0\r\nX-Padded:   v  \r\nX-Latin: caf\u00e9\r\n", BODY),
                post("", ""),
                "GET /v1/models HTTP/1.1\r\nHost: gw\r\nAccept: */*\r\n\r\n",
                "GET /health?verbose=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                "GET /health HTTP/1.1\r\nHost: gw\r\nConnection: Keep-Alive ,  Upgrade\r\nconnection: close\r\n\r\n",
        };
        for (String s : plain) {
            ByteBuf in = bytes(s);
            FullHttpRequest fast = WHOLE.parse(in);
            assertNotNull(fast, s);
            FullHttpRequest general = netty(s);
            assertSame(general, fast);
            fast.release();
            general.release();
            assertEquals(0, in.refCnt(), "the request owned the read");
        }
    }

    /**
     * The head is copied 2 KiB first and the rest only when its end is not in them: heads ending
     * on every side of that edge, one well past it, and a read that does not start at index 0.
     */
    @Test
    void headsAcrossTheFirstCopyAndReadsFromAnOffsetComeOutAsNettyMakesThem() {
        java.util.List<String> requests = new java.util.ArrayList<>();
        String shortest = post("X-Pad: \r\n", BODY);
        int headWithoutPad = shortest.length() - BODY.length();
        for (int headLength = 2040; headLength <= 2056; headLength++) {
            requests.add(post("X-Pad: " + "p".repeat(headLength - headWithoutPad) + "\r\n", BODY));
        }
        requests.add(post("X-Pad: " + "p".repeat(6000) + "\r\n", BODY));
        for (String s : requests) {
            ByteBuf in = Unpooled.buffer().writeBytes("junk".getBytes(StandardCharsets.ISO_8859_1))
                    .writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
            in.skipBytes(4);
            FullHttpRequest fast = WHOLE.parse(in);
            assertNotNull(fast, "head of " + (s.length() - BODY.length()) + " bytes");
            FullHttpRequest general = netty(s);
            assertSame(general, fast);
            fast.release();
            general.release();
        }
    }

    @Test
    void everyPieceShortOfTheWholeRequestAndTwoRequestsAreLeftToNetty() {
        String whole = post("Content-Type: application/json\r\n", BODY);
        for (int cut = 0; cut < whole.length(); cut++) {
            ByteBuf piece = bytes(whole.substring(0, cut));
            assertNull(WHOLE.parse(piece), "cut at " + cut);
            assertEquals(1, piece.refCnt());
            piece.release();
        }
        ByteBuf pipelined = bytes(whole + whole);
        assertNull(WHOLE.parse(pipelined));
        pipelined.release();
    }

    @Test
    void unusualOrInvalidRequestsAreLeftToNetty() {
        Map<String, String> notPlain = Map.ofEntries(
                Map.entry("chunked", "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
                Map.entry("expect", post("Expect: 100-continue\r\n", BODY)),
                Map.entry("two lengths", post("Content-Length: 3\r\n", BODY)),
                Map.entry("space in a name", post("X Bad: 1\r\n", BODY)),
                Map.entry("space before the colon", post("X-Bad : 1\r\n", BODY)),
                Map.entry("control character", post("X-Bad: a\u0001b\r\n", BODY)),
                Map.entry("folded", post("X-Folded: a\r\n b\r\n", BODY)),
                Map.entry("bare LF", "GET /health HTTP/1.1\nHost: x\n\n"),
                Map.entry("lower-case method", "get /health HTTP/1.1\r\n\r\n"),
                Map.entry("other method", "PUT /health HTTP/1.1\r\n\r\n"),
                Map.entry("absolute form", "GET http://gw/health HTTP/1.1\r\n\r\n"),
                Map.entry("HTTP/2", "GET /health HTTP/2.0\r\n\r\n"),
                Map.entry("leading CRLF", "\r\nGET /health HTTP/1.1\r\n\r\n"),
                Map.entry("long line", "GET /" + "a".repeat(5000) + " HTTP/1.1\r\n\r\n"),
                Map.entry("large head", "GET /health HTTP/1.1\r\nX-Big: " + "a".repeat(9000) + "\r\n\r\n"),
                Map.entry("large body", post("", "x".repeat((1 << 20) + 1))),
                Map.entry("length without body", "POST /v1/embeddings HTTP/1.1\r\nContent-Length: 10\r\n\r\n"),
                Map.entry("body without length", "POST /v1/embeddings HTTP/1.1\r\n\r\n{}"));
        notPlain.forEach((why, s) -> {
            ByteBuf in = bytes(s);
            assertNull(WHOLE.parse(in), why);
            assertEquals(1, in.refCnt(), why);
            in.release();
        });
    }
}
