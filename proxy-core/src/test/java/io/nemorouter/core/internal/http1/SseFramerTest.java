package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SseFramerTest {
    private static final String STREAM = "data: {\"a\":1}\n\n: keep-alive\n\nevent: ping\ndata: x\n\n"
            + "data: {\"b\":\"line\\nbreak\"}\r\n\r\ndata: [DONE]\n\n";
    private static final List<String> EVENTS = List.of("data: {\"a\":1}\n\n", ": keep-alive\n\n", "event: ping\ndata: x\n\n",
            "data: {\"b\":\"line\\nbreak\"}\r\n\r\n", "data: [DONE]\n\n");

    private static List<String> frame(SseFramer framer, List<ByteBuf> pieces) {
        List<String> out = new ArrayList<>();
        for (ByteBuf piece : pieces) {
            framer.add(piece);
            for (ByteBuf e = framer.next(); e != null; e = framer.next()) {
                out.add(e.toString(StandardCharsets.UTF_8));
                e.release();
            }
        }
        return out;
    }

    private static ByteBuf buf(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    @Test
    void wholeEventsComeOutHoweverThePiecesAreCut() {
        byte[] all = STREAM.getBytes(StandardCharsets.UTF_8);
        Random random = new Random(7);
        for (int round = 0; round < 500; round++) {
            List<ByteBuf> pieces = new ArrayList<>();
            int at = 0;
            while (at < all.length) {
                int n = Math.min(all.length - at, 1 + random.nextInt(round % 2 == 0 ? 4 : 40));
                pieces.add(Unpooled.wrappedBuffer(all, at, n));
                at += n;
            }
            SseFramer framer = new SseFramer(ByteBufAllocator.DEFAULT, 1 << 20);
            assertEquals(EVENTS, frame(framer, pieces), "round " + round);
            assertFalse(framer.hasPartial());
        }
    }

    @Test
    void aPartialEventWaitsAndCanBeTakenAtTheEnd() {
        SseFramer framer = new SseFramer(ByteBufAllocator.DEFAULT, 1 << 20);
        assertEquals(List.of("data: 1\n\n"), frame(framer, List.of(buf("data: 1\n\ndata: 2"))));
        assertTrue(framer.hasPartial());
        assertNull(framer.next());
        ByteBuf rest = framer.takePartial();
        assertEquals("data: 2", rest.toString(StandardCharsets.UTF_8));
        rest.release();
        assertFalse(framer.hasPartial());
    }

    @Test
    void anEventThatNeverEndsIsRefusedPastTheLimit() {
        SseFramer framer = new SseFramer(ByteBufAllocator.DEFAULT, 64);
        framer.add(buf("data: " + "x".repeat(100)));
        assertThrows(SseFramer.TooLarge.class, framer::next);
        framer.release();
    }

    @Test
    void eventsAreViewsOfThePiecesNotCopies() {
        ByteBuf one = buf("data: 1\n\ndata: ");
        ByteBuf two = buf("2\n\n");
        SseFramer framer = new SseFramer(ByteBufAllocator.DEFAULT, 1 << 20);
        framer.add(one);
        ByteBuf first = framer.next();
        framer.add(two);
        ByteBuf second = framer.next();
        assertEquals("data: 2\n\n", second.toString(StandardCharsets.UTF_8));
        assertTrue(one.refCnt() > 0 && two.refCnt() > 0, "the views hold the pieces");
        one.setByte(one.readerIndex() + 6, '9');
        assertEquals("data: 9\n\n", first.toString(StandardCharsets.UTF_8), "a view, not a copy");
        first.release();
        second.release();
        assertEquals(0, one.refCnt(), "every reference was handed back");
        assertEquals(0, two.refCnt());
    }
}
