package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;

/**
 * A complete upstream answer still in its own bytes, as the exchange sends it
 * on: the status line and the header lines that go to the client are copied as they came, and the
 * gateway's headers and the body are added after them.
 */
public interface PassthroughAnswer {
    int status();

    /** Writes the status code and reason, without the version and without the line's end. */
    void writeStatus(WireBytes out);

    /** Writes the header lines that go to the client, each with its CRLF. */
    void writeHeaderLines(WireBytes out);

    /** As {@link #writeHeaderLines(WireBytes)}, leaving out lines named (any case) in {@code except}. */
    void writeHeaderLines(WireBytes out, java.util.List<? extends CharSequence> except);

    /** Bytes {@link #writeStatus} and {@link #writeHeaderLines} will write. */
    int headBytes();

    /** The value of one of the header lines that go to the client, or null. */
    String header(String lowerName);

    /** The body (not retained). */
    ByteBuf body();
}
