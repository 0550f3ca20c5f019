package io.nemorouter.core.internal.http1;

import java.nio.charset.StandardCharsets;

/**
 * Small readers of HTTP/1.1 heads in their bytes ({@link HeadBytes}), for the fast paths that take
 * a whole request or answer in one pass ({@link WholeRequest}, and {@code WholeAnswer} upstream).
 * They only ever say yes to the plain shape; anything they are unsure of is left to Netty's decoders.
 */
public final class HttpBytes {
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

    /** ASCII bytes of a lower-case name, for the matchers above. */
    public static byte[] ascii(String lowerName) {
        return lowerName.getBytes(StandardCharsets.US_ASCII);
    }

    /** Whether {@code s} can be a header name or value as is: no control characters, nothing beyond Latin-1. */
    public static boolean isHeaderText(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
                return false;
            }
        }
        return true;
    }
}
