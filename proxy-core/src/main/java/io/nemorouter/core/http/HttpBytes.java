package io.nemorouter.core.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Small readers of HTTP/1.1 heads in their bytes ({@link HeadBytes}), for the fast paths that take
 * a whole request or answer in one pass ({@link WholeRequest}, and {@code WholeAnswer} upstream).
 * They only ever say yes to the plain shape; anything they are unsure of is left to Netty's decoders.
 */
public final class HttpBytes {
    /** CRLF and ": " as big-endian shorts, for {@link ByteBuf#writeShort}. */
    public static final short CRLF = ('\r' << 8) | '\n';
    public static final short COLON_SP = (':' << 8) | ' ';
    /** Header names both fast paths look for, lower-case, for {@link #nameIs}. */
    public static final byte[] CONTENT_LENGTH = ascii("content-length");
    public static final byte[] TRANSFER_ENCODING = ascii("transfer-encoding");
    private HttpBytes() {
    }

    /** Index of the CR of the next CRLF at or after {@code from}, or -1 (none before {@code limit}, or a bare LF). */
    public static int lineEnd(byte[] b, int from, int limit) {
        for (int i = from; i < limit; i++) {
            if (b[i] == '\n') {
                return i > from && b[i - 1] == '\r' ? i - 1 : -1;
            }
        }
        return -1;
    }

    /** A non-negative decimal of at most 12 digits in {@code [from, to)}, or -1. */
    public static long number(byte[] b, int from, int to) {
        if (from == to || to - from > 12) {
            return -1;
        }
        long n = 0;
        for (int i = from; i < to; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            n = n * 10 + d;
        }
        return n;
    }

    public static int skipSpaces(byte[] b, int from, int to) {
        while (from < to && (b[from] == ' ' || b[from] == '\t')) {
            from++;
        }
        return from;
    }

    public static int trimSpaces(byte[] b, int from, int to) {
        while (to > from && (b[to - 1] == ' ' || b[to - 1] == '\t')) {
            to--;
        }
        return to;
    }

    /**
     * Where the colon of the header line {@code [from, eol)} is, or -1 when the line is not a plain
     * {@code name: value}: folded, an empty name, or white space before the colon.
     */
    public static int headerColon(byte[] b, int from, int eol) {
        int colon = from;
        while (colon < eol && b[colon] != ':') {
            colon++;
        }
        if (colon == eol || colon == from) {
            return -1;
        }
        byte first = b[from];
        byte beforeColon = b[colon - 1];
        if (first == ' ' || first == '\t' || beforeColon == ' ' || beforeColon == '\t') {
            return -1;
        }
        return colon;
    }

    /** Whether the bytes at {@code at} are {@code ascii}, case included; the caller knows they are there. */
    public static boolean regionIs(byte[] b, int at, String ascii) {
        for (int i = 0; i < ascii.length(); i++) {
            if (b[at + i] != ascii.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Case-insensitive equality of {@code length} bytes at {@code at} with a lower-case ASCII name. */
    public static boolean nameIs(byte[] b, int at, int length, byte[] lowerName) {
        return length == lowerName.length && regionMatches(b, at, lowerName);
    }

    public static boolean startsWithIgnoreCase(byte[] b, int from, int to, byte[] lowerPrefix) {
        return to - from >= lowerPrefix.length && regionMatches(b, from, lowerPrefix);
    }

    public static boolean containsIgnoreCase(byte[] b, int from, int to, byte[] lowerWord) {
        for (int i = from; i + lowerWord.length <= to; i++) {
            if (regionMatches(b, i, lowerWord)) {
                return true;
            }
        }
        return false;
    }

    private static boolean regionMatches(byte[] b, int at, byte[] lower) {
        for (int i = 0; i < lower.length; i++) {
            int c = b[at + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != lower[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Writes {@code name: value} and CRLF, one byte per char (ISO-8859-1), which is how Netty's
     * decoders read header text: a value passed on reaches the other side byte for byte.
     * The caller has checked both for control characters.
     */
    public static void writeHeaderLine(ByteBuf out, CharSequence name, CharSequence value) {
        writeLatin1(out, name);
        out.writeShort(COLON_SP);
        writeLatin1(out, value);
        out.writeShort(CRLF);
    }

    /**
     * Writes each header of {@code headers} that {@code keep} accepts (given its name, or a view of
     * it that the predicate must not keep) as a line, in order. A request read whole
     * ({@link RawRequestHeaders}) copies its lines from its bytes.
     */
    public static void writeHeaderLines(ByteBuf out, HttpHeaders headers, Predicate<CharSequence> keep) {
        if (headers instanceof RawRequestHeaders raw) {
            raw.writeLines(out, keep);
            return;
        }
        for (var it = headers.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> h = it.next();
            if (keep.test(h.getKey())) {
                writeHeaderLine(out, h.getKey(), h.getValue());
            }
        }
    }

    /** Writes {@code name: n} and CRLF, the number in decimal without making a String of it. */
    public static void writeHeaderLine(ByteBuf out, AsciiString name, long n) {
        ByteBufUtil.copy(name, out);
        out.writeShort(COLON_SP);
        writeDecimal(out, n);
        out.writeShort(CRLF);
    }

    /** A non-negative number in decimal ASCII. */
    public static void writeDecimal(ByteBuf out, long n) {
        if (n < 0) {
            throw new IllegalArgumentException("negative: " + n);
        }
        long div = 1;
        while (n / div >= 10) {
            div *= 10;
        }
        for (; div > 0; div /= 10) {
            out.writeByte((int) ('0' + n / div % 10));
        }
    }

    /**
     * Bodies up to this size are copied behind their head, into one buffer (one iovec, no composite's
     * bookkeeping); larger ones (images) are sent from their own buffers. The requests and answers
     * the gateway writes both follow it, and {@link #copy} takes them through its array.
     */
    public static final int INLINE_BODY_BYTES = 16 * 1024;

    /**
     * Appends {@code length} bytes of {@code from} at {@code index} to {@code to} through an array the
     * thread keeps. Between two pooled direct buffers Netty copies through NIO views, two small
     * objects a copy; two plain copies of a few hundred bytes are cheaper than that garbage.
     */
    public static void copy(ByteBuf from, int index, int length, ByteBuf to) {
        if (length > INLINE_BODY_BYTES) {
            to.writeBytes(from, index, length);
            return;
        }
        byte[] scratch = scratch(length);
        from.getBytes(index, scratch, 0, length);
        to.writeBytes(scratch, 0, length);
    }

    /** The largest array {@link #scratch} keeps for a thread; longer requests get an array of their own. */
    public static final int SCRATCH_MAX = 64 * 1024;
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[4096];
        }
    };

    /**
     * An array of at least {@code n} bytes: the one this thread keeps when {@code n} is at most
     * {@link #SCRATCH_MAX} (grown as needed), else a new one. Its contents are the caller's only
     * until it returns: nothing may hold it across a call that could use it too.
     */
    public static byte[] scratch(int n) {
        if (n > SCRATCH_MAX) {
            return new byte[n];
        }
        byte[] scratch = SCRATCH.get();
        if (scratch.length < n) {
            scratch = new byte[Math.max(n, Math.min(SCRATCH_MAX, scratch.length * 2))];
            SCRATCH.set(scratch);
        }
        return scratch;
    }

    /**
     * One byte per char, as Netty's own Latin-1 writer does ('?' for a char beyond Latin-1, never
     * its low byte, which could be a CR or LF), but through the thread's array: a pooled buffer
     * written a char at a time checks and delegates per char.
     */
    private static void writeLatin1(ByteBuf out, CharSequence s) {
        if (s instanceof AsciiString a) {
            ByteBufUtil.copy(a, out);
            return;
        }
        int n = s.length();
        byte[] bytes = scratch(n);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            bytes[i] = c <= 0xff ? (byte) c : (byte) '?';
        }
        out.writeBytes(bytes, 0, n);
    }

    /** ASCII bytes of a lower-case name, for the matchers above. */
    public static byte[] ascii(String lowerName) {
        return lowerName.getBytes(StandardCharsets.US_ASCII);
    }
}
