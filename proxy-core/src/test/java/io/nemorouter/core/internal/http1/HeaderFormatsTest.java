package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.AsciiString;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The numbers the gateway writes into heads without going through a String. */
class HeaderFormatsTest {

    @Test
    void costHasUpToEightDecimalsWithoutTrailingZeros() {
        assertEquals("0.0075", WireBytes.formatCost(0.0075).toString());
        assertEquals("0.00000123", WireBytes.formatCost(0.00000123).toString());
        assertEquals("12", WireBytes.formatCost(12).toString());
        assertEquals("0", WireBytes.formatCost(0).toString());
        assertEquals("1.5", WireBytes.formatCost(1.5).toString());
        assertEquals("3.00000001", WireBytes.formatCost(3.00000001).toString());
        assertEquals("0.1", WireBytes.formatCost(0.1).toString());
    }

    @Test
    void millisHaveThreeDecimals() {
        assertEquals("0.015", WireBytes.formatMillis(15_400).toString());
        assertEquals("0.000", WireBytes.formatMillis(999).toString());
        assertEquals("1.200", WireBytes.formatMillis(1_200_000).toString());
        assertEquals("12.345", WireBytes.formatMillis(12_345_678).toString());
    }

    @Test
    void decimalHeaderLines() {
        for (long n : new long[]{0, 7, 10, 99, 100, 1024, 123_456_789_012L, Long.MAX_VALUE}) {
            WireBytes out = WireBytes.start(0);
            out.number(HttpHeaderNames.CONTENT_LENGTH, n);
            assertEquals("content-length: " + n + "\r\n", text(out));
        }
    }

    /** Text header lines are written byte for byte as Netty's Latin-1 writer would: '?' beyond Latin-1, never a low byte. */
    @Test
    void textHeaderLinesAreLatin1AsNettyWritesThem() {
        WireBytes ours = WireBytes.start(0);
        ByteBuf netty = Unpooled.directBuffer();
        for (CharSequence value : new CharSequence[]{"req_1f", "caf\u00e9 \u00ff", "bad\u010a\u010dsplit", new StringBuilder("0.015"),
                AsciiString.of("cached"), "", "v".repeat(70_000)}) {
            ours.text(AsciiString.of("x-test"), value);
            netty.writeCharSequence("x-test: " + value + "\r\n", StandardCharsets.ISO_8859_1);
        }
        ours.cost(AsciiString.of("x-cost"), 0.0075);
        ours.millis(AsciiString.of("x-ms"), 12_345_678);
        netty.writeCharSequence("x-cost: 0.0075\r\nx-ms: 12.345\r\n", StandardCharsets.US_ASCII);
        ByteBuf copy = ours.copyTo(UnpooledByteBufAllocator.DEFAULT);
        assertEquals(netty, copy);
        copy.release();
        netty.release();
    }

    /** Regions of buffers of every size around the inline limit, growing the array as they come. */
    @Test
    void copiesSmallAndLargeRegions() {
        for (int n : new int[]{0, 1, 300, 16 * 1024, 16 * 1024 + 1, 100_000}) {
            byte[] bytes = new byte[n + 3];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) (i * 31);
            }
            ByteBuf from = Unpooled.directBuffer().writeBytes(bytes);
            WireBytes to = WireBytes.start(0).put(new byte[]{'x'});
            to.put(from, 3, n);
            ByteBuf copy = to.copyTo(UnpooledByteBufAllocator.DEFAULT);
            assertEquals(n + 1, copy.readableBytes());
            assertEquals(from.slice(3, n), copy.slice(1, n), "region of " + n);
            assertEquals(3, from.readableBytes() - n, "the source's indexes are untouched");
            from.release();
            copy.release();
        }
    }

    private static String text(WireBytes wire) {
        ByteBuf b = wire.copyTo(UnpooledByteBufAllocator.DEFAULT);
        String s = b.toString(StandardCharsets.US_ASCII);
        b.release();
        return s;
    }
}
