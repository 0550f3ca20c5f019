package io.nemorouter.core.http;

import io.netty.buffer.ByteBuf;

/**
 * A complete upstream answer still in its own bytes, as {@link Exchange#respondPassthrough} sends it
 * on: the status line and the header lines that go to the client are copied as they came, and the
 * gateway's headers and the body are added after them.
 */
public interface PassthroughAnswer {
    int status();

    /** Writes the status code and reason, without the version and without the line's end. */
    void writeStatus(WireBytes out);

    /** Writes the header lines that go to the client, each with its CRLF. */
    void writeHeaderLines(WireBytes out);

    /** Bytes {@link #writeStatus} and {@link #writeHeaderLines} will write. */
    int headBytes();

    /** The body (not retained). */
    ByteBuf body();
}
