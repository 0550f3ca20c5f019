package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;

import java.util.Map;
import java.util.function.Predicate;

/**
 * An HTTP message assembled in an array the thread keeps, then copied into a pooled buffer in one
 * write. The head of a passed-through answer is some thirty small pieces (its status, its kept
 * lines, the gateway's headers, their numbers); written to a pooled buffer one by one, each piece
 * pays the buffer's bounds and reference-count checks, and the numbers went through a String.
 *
 * <p>One per thread, and only between {@link #start} and {@link #copyTo}, which its users call in
 * one go: nothing in between may start another, so no builder holds it across calls.
 */
public final class WireBytes implements HeaderSink {
    private static final FastThreadLocal<WireBytes> LOCAL = new FastThreadLocal<>() {
        @Override
        protected WireBytes initialValue() {
            return new WireBytes(4096);
        }
    };

    /**
     * Bodies up to this size are copied behind their head, into one buffer (one iovec, no composite's
     * bookkeeping); larger ones (images) are sent from their own buffers. The requests and answers
     * the gateway writes both follow it.
     */
    public static final int INLINE_BODY_BYTES = 16 * 1024;

    /** The largest array kept between messages. */
    private static final int KEPT_BYTES = 64 * 1024;

    private byte[] b;
    private int n;

    private WireBytes(int capacity) {
        b = new byte[capacity];
    }

    /** This thread's, emptied, with room for at least {@code expectedBytes} (it grows past that if need be). */
    public static WireBytes start(int expectedBytes) {
        WireBytes a = LOCAL.get();
        if (a.b.length > KEPT_BYTES) {
            a.b = new byte[4096]; // one large message (a long head, a body near the inline limit) is not kept for good
        }
        a.n = 0;
        a.room(expectedBytes);
        return a;
    }

    /** A new, unshared one, for a value that has to become a String ({@link #formatCost}). */
    static WireBytes detached() {
        return new WireBytes(32);
    }

    /** Milliseconds with three decimals: 0.015 (for a header map; answers' bytes get the digits directly). */
    public static CharSequence formatMillis(long nanos) {
        return detached().millis(nanos).text();
    }

    /** USD with up to 8 decimals, trailing zeros dropped: 0.0075, 0.00000123, 12. */
    public static CharSequence formatCost(double usd) {
        return detached().cost(usd).text();
    }

    public WireBytes put(byte[] src) {
        return put(src, 0, src.length);
    }

    public WireBytes put(byte[] src, int from, int length) {
        room(length);
        System.arraycopy(src, from, b, n, length);
        n += length;
        return this;
    }

    /**
     * Each header of {@code headers} that {@code keep} accepts (given its name, or a view of it that
     * the predicate must not keep) as a line, in order. A request read whole ({@link RawRequestHeaders})
     * has its lines copied from its bytes.
     */
    public WireBytes headerLines(HttpHeaders headers, Predicate<CharSequence> keep) {
        if (headers instanceof RawRequestHeaders raw) {
            raw.writeLines(this, keep);
            return this;
        }
        for (var it = headers.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> h = it.next();
            if (keep.test(h.getKey())) {
                latin1(h.getKey()).colon().latin1(h.getValue()).crlf();
            }
        }
        return this;
    }

    /** {@code length} bytes of {@code src} at {@code index}, its indexes untouched. */
    public WireBytes put(ByteBuf src, int index, int length) {
        room(length);
        src.getBytes(index, b, n, length);
        n += length;
        return this;
    }

    public WireBytes crlf() {
        return pair('\r', '\n');
    }

    /** {@code name: } */
    public WireBytes name(AsciiString name) {
        return put(name.array(), name.arrayOffset(), name.length()).colon();
    }

    /** The {@code ": "} between a header's name and value. */
    public WireBytes colon() {
        return pair(':', ' ');
    }

    private WireBytes pair(char first, char second) {
        room(2);
        b[n++] = (byte) first;
        b[n++] = (byte) second;
        return this;
    }

    /**
     * One byte per char, as Netty's Latin-1 writer does: '?' for a char beyond Latin-1, never its low
     * byte, which could be a CR or LF.
     */
    public WireBytes latin1(CharSequence s) {
        if (s instanceof AsciiString a) {
            return put(a.array(), a.arrayOffset(), a.length());
        }
        int length = s.length();
        room(length);
        for (int i = 0; i < length; i++) {
            char c = s.charAt(i);
            b[n++] = c <= 0xff ? (byte) c : (byte) '?';
        }
        return this;
    }

    /** A non-negative number in decimal. */
    public WireBytes decimal(long value) {
        if (value < 0) {
            throw new IllegalArgumentException("negative: " + value);
        }
        long div = 1;
        while (value / div >= 10) {
            div *= 10;
        }
        room(19);
        for (; div > 0; div /= 10) {
            b[n++] = (byte) ('0' + value / div % 10);
        }
        return this;
    }

    /** USD with up to 8 decimals, trailing zeros dropped: 0.0075, 0.00000123, 12. */
    public WireBytes cost(double usd) {
        long units = Math.round(usd * 1e8);
        decimal(units / 100_000_000L);
        long frac = units % 100_000_000L;
        if (frac == 0) {
            return this;
        }
        room(9);
        b[n++] = '.';
        for (long place = 10_000_000L; frac > 0; place /= 10) {
            b[n++] = (byte) ('0' + frac / place);
            frac %= place;
        }
        return this;
    }

    /** Milliseconds with three decimals: 0.015. */
    public WireBytes millis(long nanos) {
        long micros = nanos / 1000;
        decimal(micros / 1000);
        long frac = micros % 1000;
        room(4);
        b[n++] = '.';
        b[n++] = (byte) ('0' + frac / 100);
        b[n++] = (byte) ('0' + frac / 10 % 10);
        b[n++] = (byte) ('0' + frac % 10);
        return this;
    }

    @Override
    public void text(AsciiString name, CharSequence value) {
        name(name).latin1(value).crlf();
    }

    @Override
    public void number(AsciiString name, long value) {
        name(name).decimal(value).crlf();
    }

    @Override
    public void cost(AsciiString name, double usd) {
        name(name).cost(usd).crlf();
    }

    @Override
    public void millis(AsciiString name, long nanos) {
        name(name).millis(nanos).crlf();
    }

    public int length() {
        return n;
    }

    /** What was put, in a new direct buffer of exactly that size. */
    public ByteBuf copyTo(ByteBufAllocator alloc) {
        return alloc.directBuffer(n).writeBytes(b, 0, n);
    }

    /** What was put, as ASCII text (numbers for a header map). */
    AsciiString text() {
        return new AsciiString(b, 0, n, true);
    }

    private void room(int more) {
        if (n + more > b.length) {
            b = java.util.Arrays.copyOf(b, Math.max(n + more, b.length * 2));
        }
    }
}
