package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.util.ByteProcessor;

/**
 * Cuts a server-sent event stream into whole events, as its pieces arrive: each event (its lines
 * through the blank line that ends it) comes out as a retained slice of the pieces, never a copy.
 * A partial event waits for the piece that completes it; an SSE client could not act on it earlier
 * anyway, since it dispatches an event only at its blank line. Lines may end in LF or CRLF.
 *
 * <p>One per stream; event-loop confined. Not thread-safe.
 */
public final class SseFramer {
    private final ByteBufAllocator alloc;
    private final int maxEventBytes;
    /** Bytes received and not yet cut into events (owned); null when there are none. */
    private ByteBuf pending;
    /** How far into {@link #pending} the search for an event's end has got: it resumes there. */
    private int scanned;
    private final EventEnd end = new EventEnd();

    public SseFramer(ByteBufAllocator alloc, int maxEventBytes) {
        this.alloc = alloc;
        this.maxEventBytes = maxEventBytes;
    }

    /** Adds the next piece of the stream; ownership passes to the framer. */
    public void add(ByteBuf piece) {
        if (!piece.isReadable()) {
            piece.release();
            return;
        }
        if (pending == null) {
            pending = piece;
        } else {
            CompositeByteBuf c;
            if (pending instanceof CompositeByteBuf already) {
                c = already;
            } else {
                c = alloc.compositeBuffer(16);
                c.addComponent(true, pending);
                pending = c;
            }
            c.addComponent(true, piece);
        }
    }

    /**
     * The next whole event (a retained slice the caller owns), or null when the bytes so far hold
     * none.
     *
     * @throws TooLarge when an event grows past the limit without ending
     */
    public ByteBuf next() {
        if (pending == null) {
            return null;
        }
        int from = pending.readerIndex() + scanned;
        int readable = pending.writerIndex() - from;
        int at = readable <= 0 ? -1 : pending.forEachByte(from, readable, end);
        if (at < 0) {
            scanned = pending.readableBytes();
            if (scanned > maxEventBytes) {
                throw new TooLarge(maxEventBytes);
            }
            return null;
        }
        ByteBuf event = pending.readRetainedSlice(at + 1 - pending.readerIndex());
        end.reset();
        scanned = 0;
        if (!pending.isReadable()) {
            pending.release();
            pending = null;
        } else if (pending instanceof CompositeByteBuf c) {
            c.discardReadComponents();
        }
        return event;
    }

    /** Whether bytes of an unfinished event are held. */
    public boolean hasPartial() {
        return pending != null && pending.isReadable();
    }

    /** The bytes of an unfinished event, handed over (null when none): at the stream's end, for whoever wants them. */
    public ByteBuf takePartial() {
        ByteBuf p = pending;
        pending = null;
        scanned = 0;
        end.reset();
        return p;
    }

    public void release() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }

    /** An event larger than the limit: the upstream is not speaking SSE, or is sending something no client should buffer. */
    public static final class TooLarge extends RuntimeException {
        public TooLarge(int limit) {
            super("an event of the stream went past " + limit + " bytes without ending", null, false, false);
        }
    }

    /**
     * Finds the end of an event: a line end right after another, where a line ends in LF or CRLF
     * (LF LF, CRLF CRLF and the mixed forms). A lone CR as a line end, which the SSE grammar allows
     * but no LLM API sends, is not recognised. Keeps its state between calls, so a search resumes
     * across pieces.
     */
    private static final class EventEnd implements ByteProcessor {
        /** Line ends seen in a row, with nothing between. */
        private int lineEnds;

        void reset() {
            lineEnds = 0;
        }

        @Override
        public boolean process(byte b) {
            if (b == '\n') {
                return ++lineEnds < 2;
            }
            if (b != '\r') {
                lineEnds = 0;
            }
            return true;
        }
    }
}
