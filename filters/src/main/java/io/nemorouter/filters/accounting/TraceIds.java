package io.nemorouter.filters.accounting;

import io.nemorouter.core.exchange.Key;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The W3C trace context of one request, set on the exchange when tracing is on (an {@code otlp}
 * exporter is configured): the trace it belongs to (the client's, from its {@code traceparent},
 * or a new one), the span of the gateway's handling of it, the client's span when it sent one,
 * and a span per attempt, whose id went upstream. The request log writes them into the record,
 * where exporters read them. Ids are kept as numbers and turned into hex only on the log's writer
 * thread; confined to the exchange's event loop until the record is built.
 */
public final class TraceIds {
    /** On the exchange: this request's trace context; absent when tracing is off. */
    public static final Key<TraceIds> KEY = Key.of("trace.ids");
    private static final byte[] DIGITS = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);
    /** {@code 00-} 32 digits {@code -} 16 digits {@code -} 2 digits. */
    private static final int TRACEPARENT_LENGTH = 55;

    private final long traceHigh;
    private final long traceLow;
    private final long spanId;
    private final long parentSpanId;
    private final int flags;
    /** Each attempt's span id by attempt number - 1; 0 for an attempt that never reached its provider's filters. */
    private long[] attemptSpans = new long[0];

    /**
     * @param parentSpanId the client's span, or 0 when the trace starts here
     * @param flags        the trace flags (bit 0: sampled), the client's or {@code 01}
     */
    public TraceIds(long traceHigh, long traceLow, long spanId, long parentSpanId, int flags) {
        this.traceHigh = traceHigh;
        this.traceLow = traceLow;
        this.spanId = spanId;
        this.parentSpanId = parentSpanId;
        this.flags = flags;
    }

    public long traceHigh() {
        return traceHigh;
    }

    public long traceLow() {
        return traceLow;
    }

    public long spanId() {
        return spanId;
    }

    /** The client's span (this request's parent), or 0. */
    public long parentSpanId() {
        return parentSpanId;
    }

    public int flags() {
        return flags;
    }

    public boolean sampled() {
        return (flags & 1) != 0;
    }

    /** Notes attempt {@code number}'s (1, 2, ...) span id. */
    public void attemptSpan(int number, long attemptSpanId) {
        if (number > attemptSpans.length) {
            attemptSpans = Arrays.copyOf(attemptSpans, Math.max(number, 2));
        }
        attemptSpans[number - 1] = attemptSpanId;
    }

    /** Attempt {@code number}'s span id, or 0 when it has none. */
    public long attemptSpan(int number) {
        return number >= 1 && number <= attemptSpans.length ? attemptSpans[number - 1] : 0;
    }

    /** The 32 hex digits of the trace id. */
    public String traceIdHex() {
        byte[] digits = new byte[32];
        hexInto(traceHigh, digits, 0);
        hexInto(traceLow, digits, 16);
        return new String(digits, StandardCharsets.ISO_8859_1);
    }

    /** A span id's 16 hex digits. */
    public static String hex(long id) {
        byte[] digits = new byte[16];
        hexInto(id, digits, 0);
        return new String(digits, StandardCharsets.ISO_8859_1);
    }

    /**
     * {@code 00-<trace>-<span>-<flags>}: the {@code traceparent} of a call whose span is {@code span}.
     * Made on the event loop for every attempt, so written into one array: the concatenation of five
     * hex strings it replaced stood out in a profile of the event loops (0.5% of the process's samples,
     * near Netty's whole read of a socket).
     */
    public String traceparent(long span) {
        byte[] b = new byte[TRACEPARENT_LENGTH];
        b[0] = '0';
        b[1] = '0';
        b[2] = '-';
        hexInto(traceHigh, b, 3);
        hexInto(traceLow, b, 19);
        b[35] = '-';
        hexInto(span, b, 36);
        b[52] = '-';
        b[53] = DIGITS[(flags >>> 4) & 0xf];
        b[54] = DIGITS[flags & 0xf];
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /** Writes {@code v}'s 16 hex digits (lower case, zero-padded, ASCII) into {@code into} from {@code at}. */
    static void hexInto(long v, byte[] into, int at) {
        for (int i = at + 15; i >= at; i--) {
            into[i] = DIGITS[(int) v & 0xf];
            v >>>= 4;
        }
    }
}
