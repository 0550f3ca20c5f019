package io.nemorouter.core.internal.http1;

import io.nemorouter.core.internal.http1.WireBytes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the fast way takes (and, as important, what it leaves to Netty's decoder). */
class WholeAnswerTest {
    private static final String BODY = "{\"id\":\"x\",\"usage\":{\"prompt_tokens\":1}}";

    private static String answer(String statusLine, String headers, String body) {
        return statusLine + "\r\n" + headers + "\r\n" + body;
    }

    private static String plain(String headers) {
        return answer("HTTP/1.1 200 OK", headers + "Content-Length: " + BODY.length() + "\r\n", BODY);
    }

    private static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    /** What a client would get before the gateway's own headers: status, kept lines. */
    private static String passedOn(WholeAnswer a) {
        WireBytes out = WireBytes.start(0);
        a.writeStatus(out);
        out.crlf();
        a.writeHeaderLines(out);
        assertTrue(out.length() <= a.headBytes(), "headBytes bounds what is written");
        ByteBuf copy = out.copyTo(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
        String text = copy.toString(StandardCharsets.ISO_8859_1);
        copy.release();
        return text;
    }

    @Test
    void aPlainAnswerIsTakenWithOnlyEndToEndHeadersKept() {
        ByteBuf in = bytes(plain("Content-Type: application/json\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
                + "X-Request-Id: up\r\nX-NEMO-MODEL: other\r\nopenai-version: 2020-10-01\r\n"));
        WholeAnswer a = new WholeAnswer();
        assertTrue(a.parse(in, 1 << 20));
        assertEquals(200, a.status());
        assertTrue(a.keepAlive);
        assertEquals("200 OK\r\nContent-Type: application/json\r\nopenai-version: 2020-10-01\r\n", passedOn(a));
        assertEquals(BODY, a.body().toString(StandardCharsets.UTF_8));
        a.release();
        assertEquals(0, in.refCnt());
    }

    /** A head longer than the first 2 KiB copied, in a read that does not start at index 0. */
    @Test
    void aLongHeadAtAnOffsetIsTakenWhole() {
        String pad = "p".repeat(3000);
        ByteBuf in = Unpooled.buffer().writeBytes(new byte[]{'x', 'y'})
                .writeBytes(plain("X-Pad: " + pad + "\r\nConnection: keep-alive\r\n").getBytes(StandardCharsets.ISO_8859_1));
        in.skipBytes(2);
        WholeAnswer a = new WholeAnswer();
        assertTrue(a.parse(in, 1 << 20));
        assertEquals("200 OK\r\nX-Pad: " + pad + "\r\n", passedOn(a));
        assertEquals(BODY, a.body().toString(StandardCharsets.UTF_8));
        a.release();
    }

    @Test
    void keepAliveFollowsTheVersionAndConnectionHeader() {
        WholeAnswer a = new WholeAnswer();
        assertTrue(a.parse(bytes(plain("connection: Close\r\n")), 1 << 20));
        assertFalse(a.keepAlive);
        a.release();
        assertTrue(a.parse(bytes(answer("HTTP/1.0 200 OK", "Content-Length: " + BODY.length() + "\r\n", BODY)), 1 << 20));
        assertFalse(a.keepAlive);
        a.release();
        assertTrue(a.parse(bytes(answer("HTTP/1.0 200 OK", "Connection: keep-alive\r\nContent-Length: " + BODY.length() + "\r\n", BODY)), 1 << 20));
        assertTrue(a.keepAlive);
        a.release();
    }

    @Test
    void errorStatusesAndAnEmptyReasonAreTaken() {
        WholeAnswer a = new WholeAnswer();
        assertTrue(a.parse(bytes(answer("HTTP/1.1 429 Too Many Requests", "Retry-After: 7\r\nContent-Length: 2\r\n", "{}")), 1 << 20));
        assertEquals("429 Too Many Requests\r\nRetry-After: 7\r\n", passedOn(a));
        a.release();
        assertTrue(a.parse(bytes(answer("HTTP/1.1 200", "Content-Length: 0\r\n", "")), 1 << 20));
        assertEquals("200\r\n", passedOn(a));
        a.release();
    }

    @Test
    void everyPieceShortOfTheWholeAnswerIsLeftToTheDecoder() {
        String whole = plain("Content-Type: application/json\r\n");
        WholeAnswer a = new WholeAnswer();
        for (int cut = 0; cut < whole.length(); cut++) {
            ByteBuf piece = bytes(whole.substring(0, cut));
            assertFalse(a.parse(piece, 1 << 20), "cut at " + cut);
            assertEquals(1, piece.refCnt());
            piece.release();
        }
        ByteBuf twoAnswers = bytes(whole + whole);
        assertFalse(a.parse(twoAnswers, 1 << 20), "more than one answer's bytes");
        twoAnswers.release();
    }

    @Test
    void unusualShapesAreLeftToTheDecoder() {
        String[] notPlain = {
                answer("HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n", "2\r\n{}\r\n0\r\n\r\n"),
                answer("HTTP/1.1 200 OK", "Content-Type: text/event-stream\r\nContent-Length: 2\r\n", "{}"),
                answer("HTTP/1.1 200 OK", "Content-Length: 2\r\nContent-Length: 2\r\n", "{}"),
                answer("HTTP/1.1 200 OK", "Content-Length: 2\r\nX-Folded: a\r\n b\r\n", "{}"),
                answer("HTTP/1.1 200 OK", "Content-Length : 2\r\n", "{}"),
                answer("HTTP/1.1 200 OK", "Content-Length: 2x\r\n", "{}"),
                answer("HTTP/1.1 200 OK", "X-No-Length: 1\r\n", "{}"),
                answer("HTTP/1.1 100 Continue", "", "") + plain(""),
                answer("HTTP/1.1 204 No Content", "Content-Length: 0\r\n", ""),
                answer("HTTP/2.0 200 OK", "Content-Length: 2\r\n", "{}"),
                answer("HTTP/1.1 2x0 OK", "Content-Length: 2\r\n", "{}"),
                answer("HTTP/1.1 200OK", "Content-Length: 2\r\n", "{}"),
                "HTTP/1.1 200 OK\nContent-Length: 2\n\n{}",
        };
        WholeAnswer a = new WholeAnswer();
        for (String s : notPlain) {
            ByteBuf in = bytes(s);
            assertFalse(a.parse(in, 1 << 20), s);
            in.release();
        }
        ByteBuf tooLarge = bytes(plain(""));
        assertFalse(a.parse(tooLarge, BODY.length() - 1), "a body over the limit to hold");
        tooLarge.release();
    }
}
