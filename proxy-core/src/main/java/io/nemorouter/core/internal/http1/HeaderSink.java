package io.nemorouter.core.internal.http1;

import io.netty.util.AsciiString;

/**
 * Where the gateway's own answer headers go: a header map, or the bytes of an answer
 * ({@link WireBytes}), which writes the numbers as digits without making Strings of them.
 */
public interface HeaderSink {
    void text(AsciiString name, CharSequence value);

    void number(AsciiString name, long value);

    /** USD with up to 8 decimals, trailing zeros dropped. */
    void cost(AsciiString name, double usd);

    /** Milliseconds with three decimals. */
    void millis(AsciiString name, long nanos);
}
