package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;

/**
 * The head of an HTTP message (request or status line, header lines, the empty line) copied out
 * of the buffer it was read into, for the fast paths' readers ({@link HttpBytes}) to index as an
 * array. Reading a pooled buffer byte by byte goes through its bounds, reference-count and
 * delegation checks per byte; a head is read three or four times over, so one bulk copy first
 * is the cheaper way (JMH {@code HotPathBench.parseWholeRequest}).
 *
 * <p>Reused: one per thread for requests, one per upstream connection for answers. Its bytes are
 * valid until the next {@link #read}.
 */
public final class HeadBytes {
    /** Copied first: nearly every head fits, so a large body is not copied to find where its head ends. */
    private static final int FIRST_COPY = 2048;

    /** The head in {@code [0, length)}; bytes after it (the start of a body) may follow. */
    public byte[] bytes = new byte[FIRST_COPY];
    /** Bytes of the head, its final CRLF included. */
    public int length;

    /**
     * Copies the head that starts at {@code in}'s reader index, leaving {@code in} as it was.
     * False when the head does not end (with CRLF CRLF) within {@code limit} bytes and what the
     * buffer holds: too large, not all here, or not CRLF-terminated lines.
     */
    public boolean read(ByteBuf in, int limit) {
        int start = in.readerIndex();
        int available = Math.min(in.readableBytes(), limit);
        int copied = Math.min(available, FIRST_COPY);
        in.getBytes(start, bytes, 0, copied);
        int end = endOfHead(bytes, 0, copied);
        if (end < 0 && copied < available) {
            if (bytes.length < available) {
                bytes = java.util.Arrays.copyOf(bytes, available);
            }
            in.getBytes(start + copied, bytes, copied, available - copied);
            end = endOfHead(bytes, copied - 3, available);
        }
        length = end;
        return end >= 0;
    }

    /** Index just past the first CRLF CRLF that starts at or after {@code from}, or -1. */
    private static int endOfHead(byte[] b, int from, int to) {
        for (int i = Math.max(from, 0) + 3; i < to; i++) {
            if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
                return i + 1;
            }
        }
        return -1;
    }
}
