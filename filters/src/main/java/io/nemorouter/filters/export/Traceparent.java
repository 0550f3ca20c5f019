package io.nemorouter.filters.export;

import io.nemorouter.filters.accounting.TraceIds;

/**
 * Reads a W3C {@code traceparent} header (Trace Context, level 1):
 * {@code 00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>}, lower-case hex only. Version
 * {@code 00} only, at exactly its length; an all-zero trace or span id is invalid. A header that is
 * not valid is ignored, and the request starts a trace of its own.
 */
final class Traceparent {
    static final int LENGTH = 55;

    private Traceparent() {
    }

    /** The client's trace context with {@code spanId} as this request's span; null when {@code header} is not valid. */
    static TraceIds parse(CharSequence header, long spanId) {
        if (header == null || header.length() != LENGTH || header.charAt(0) != '0' || header.charAt(1) != '0'
                || header.charAt(2) != '-' || header.charAt(35) != '-' || header.charAt(52) != '-'
                || !lowerHex(header, 3, 35) || !lowerHex(header, 36, 52) || !lowerHex(header, 53, 55)) {
            return null;
        }
        long traceHigh = hex(header, 3, 19);
        long traceLow = hex(header, 19, 35);
        long parent = hex(header, 36, 52);
        if (traceHigh == 0 && traceLow == 0 || parent == 0) {
            return null; // all zeros: invalid by the spec
        }
        return new TraceIds(traceHigh, traceLow, spanId, parent, (int) hex(header, 53, 55));
    }

    private static boolean lowerHex(CharSequence s, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    /** The hex digits from {@code from} to {@code to} (at most 16, checked lower-case already). */
    private static long hex(CharSequence s, int from, int to) {
        return java.util.HexFormat.fromHexDigitsToLong(s, from, to);
    }
}
