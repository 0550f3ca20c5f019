package io.nemorouter.filters.export;

import io.nemorouter.filters.accounting.TraceIds;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** W3C {@code traceparent}, read and written. */
class TraceparentTest {
    static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    static final String SPAN = "00f067aa0ba902b7";

    @Test
    void aValidHeaderIsTheClientsTraceAndSpanAndFlags() {
        TraceIds ids = Traceparent.parse("00-" + TRACE + "-" + SPAN + "-01", 42);
        assertEquals(TRACE, ids.traceIdHex());
        assertEquals(SPAN, TraceIds.hex(ids.parentSpanId()));
        assertEquals(42, ids.spanId(), "the request's own span");
        assertTrue(ids.sampled());
        assertEquals("00-" + TRACE + "-000000000000002a-01", ids.traceparent(42), "what goes upstream: the trace, another span");

        TraceIds unsampled = Traceparent.parse("00-" + TRACE + "-" + SPAN + "-00", 1);
        assertFalse(unsampled.sampled());
        assertEquals("00-" + TRACE + "-ffffffffffffffff-00", unsampled.traceparent(-1), "flags go on as received");
        assertEquals("ffffffffffffffffffffffffffffffff", Traceparent.parse("00-" + "f".repeat(32) + "-" + "f".repeat(16) + "-01", 1).traceIdHex());
    }

    @Test
    void anInvalidHeaderIsIgnored() {
        for (String bad : new String[]{
                "01-" + TRACE + "-" + SPAN + "-01",                      // another version
                "ff-" + TRACE + "-" + SPAN + "-01",                      // the forbidden version
                "00-" + "0".repeat(32) + "-" + SPAN + "-01",             // all-zero trace id
                "00-" + TRACE + "-" + "0".repeat(16) + "-01",            // all-zero span id
                "00-" + TRACE.substring(1) + "-" + SPAN + "-01",         // a short trace id
                "00-" + TRACE + "-" + SPAN + "0-01",                     // a long span id
                "00-" + TRACE + "-" + SPAN + "-01-extra",                // version 00 has nothing after the flags
                "00-" + TRACE + "-" + SPAN + "-1",                       // short flags
                "00-" + TRACE.toUpperCase() + "-" + SPAN + "-01",        // upper-case hex
                "00-" + TRACE + "-" + SPAN.toUpperCase() + "-01",
                "00-" + TRACE + "-" + SPAN + "-0A",
                "00_" + TRACE + "_" + SPAN + "_01",                      // not dashes
                "00-" + TRACE.replace('a', 'g') + "-" + SPAN + "-01",    // not hex
                "",
        }) {
            assertNull(Traceparent.parse(bad, 1), bad);
        }
        assertNull(Traceparent.parse(null, 1));
    }

    @Test
    void theHeaderSentUpstreamIsZeroPaddedLowerCaseHexWithBothDigitsOfTheFlags() {
        TraceIds ids = new TraceIds(0x0123456789abcdefL, 0xfedcba9876543210L, 7, 0, 0xab);
        assertEquals("00-0123456789abcdeffedcba9876543210-000000000000000c-ab", ids.traceparent(0xc));
        assertEquals("00-0123456789abcdeffedcba9876543210-8000000000000000-ab", ids.traceparent(Long.MIN_VALUE));
        assertEquals("0123456789abcdeffedcba9876543210", ids.traceIdHex());
        TraceIds read = Traceparent.parse(ids.traceparent(0xc), 1);
        assertEquals(ids.traceIdHex(), read.traceIdHex(), "what goes upstream reads back as the same trace");
        assertEquals(0xc, read.parentSpanId());
        assertEquals(0xab, read.flags());
    }

    @Test
    void attemptSpansAreKeptByAttemptNumber() {
        TraceIds ids = new TraceIds(1, 2, 3, 0, 1);
        assertEquals(0, ids.attemptSpan(1));
        ids.attemptSpan(1, 10);
        ids.attemptSpan(3, 30);
        assertEquals(10, ids.attemptSpan(1));
        assertEquals(0, ids.attemptSpan(2), "an attempt that never reached the filters");
        assertEquals(30, ids.attemptSpan(3));
        assertEquals("00000000000000010000000000000002", ids.traceIdHex());
    }
}
