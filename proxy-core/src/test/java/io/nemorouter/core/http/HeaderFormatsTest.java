package io.nemorouter.core.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The numbers the gateway writes into heads without going through a String. */
class HeaderFormatsTest {

    @Test
    void costHasUpToEightDecimalsWithoutTrailingZeros() {
        assertEquals("0.0075", Exchange.formatCost(0.0075).toString());
        assertEquals("0.00000123", Exchange.formatCost(0.00000123).toString());
        assertEquals("12", Exchange.formatCost(12).toString());
        assertEquals("0", Exchange.formatCost(0).toString());
        assertEquals("1.5", Exchange.formatCost(1.5).toString());
        assertEquals("3.00000001", Exchange.formatCost(3.00000001).toString());
        assertEquals("0.1", Exchange.formatCost(0.1).toString());
    }

    @Test
    void millisHaveThreeDecimals() {
        assertEquals("0.015", Exchange.formatMillis(15_400).toString());
        assertEquals("0.000", Exchange.formatMillis(999).toString());
        assertEquals("1.200", Exchange.formatMillis(1_200_000).toString());
        assertEquals("12.345", Exchange.formatMillis(12_345_678).toString());
    }

    @Test
    void decimalHeaderLines() {
        for (long n : new long[]{0, 7, 10, 99, 100, 1024, 123_456_789_012L, Long.MAX_VALUE}) {
            ByteBuf out = Unpooled.buffer();
            HttpBytes.writeHeaderLine(out, HttpHeaderNames.CONTENT_LENGTH, n);
            assertEquals("content-length: " + n + "\r\n", out.toString(StandardCharsets.US_ASCII));
        }
    }

    /** Text header lines are written byte for byte as Netty's Latin-1 writer would: '?' beyond Latin-1, never a low byte. */
    @Test
    void textHeaderLinesAreLatin1AsNettyWritesThem() {
        for (CharSequence value : new CharSequence[]{"req_1f", "caf\u00e9 \u00ff", "bad\u010a\u010dsplit", new StringBuilder("0.015"),
                io.netty.util.AsciiString.of("cached"), "", "v".repeat(70_000)}) {
            ByteBuf ours = Unpooled.directBuffer();
            HttpBytes.writeHeaderLine(ours, "x-test", value);
            ByteBuf netty = Unpooled.directBuffer();
            netty.writeCharSequence("x-test: " + value + "\r\n", StandardCharsets.ISO_8859_1);
            assertEquals(netty, ours, value.length() > 20 ? "long value" : value.toString());
            ours.release();
            netty.release();
        }
    }

    /** The same lines assembled in an answer's array: byte for byte what the buffer writers above produce. */
    @Test
    void wireBytesWriteTheSameLinesAsTheBufferWriters() {
        WireBytes wire = WireBytes.start(0);
        ByteBuf expected = Unpooled.directBuffer();
        for (CharSequence value : new CharSequence[]{"req_1f", "caf\u00e9 \u00ff", "bad\u010a\u010dsplit", new StringBuilder("0.015"),
                io.netty.util.AsciiString.of("cached"), "", "v".repeat(70_000)}) {
            wire.text(io.netty.util.AsciiString.of("x-test"), value);
            HttpBytes.writeHeaderLine(expected, "x-test", value);
        }
        for (long n : new long[]{0, 7, 10, 99, 100, 1024, 123_456_789_012L, Long.MAX_VALUE}) {
            wire.number(HttpHeaderNames.CONTENT_LENGTH, n);
            HttpBytes.writeHeaderLine(expected, HttpHeaderNames.CONTENT_LENGTH, n);
        }
        wire.cost(io.netty.util.AsciiString.of("x-cost"), 0.0075);
        wire.millis(io.netty.util.AsciiString.of("x-ms"), 12_345_678);
        expected.writeCharSequence("x-cost: 0.0075\r\nx-ms: 12.345\r\n", StandardCharsets.US_ASCII);
        ByteBuf ours = wire.copyTo(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
        assertEquals(expected, ours);
        ours.release();
        expected.release();
    }

    @Test
    void copiesSmallAndLargeRegions() {
        for (int n : new int[]{0, 1, 300, 16 * 1024, 16 * 1024 + 1, 100_000}) {
            byte[] bytes = new byte[n + 3];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) (i * 31);
            }
            ByteBuf from = Unpooled.directBuffer().writeBytes(bytes);
            ByteBuf to = Unpooled.directBuffer().writeByte('x');
            HttpBytes.copy(from, 3, n, to);
            assertEquals(n + 1, to.readableBytes());
            assertEquals(from.slice(3, n), to.slice(1, n), "region of " + n);
            from.release();
            to.release();
        }
    }
}
