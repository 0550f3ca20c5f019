package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.util.ByteProcessor;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a server-sent event stream into whole events, as its pieces arrive: each event (its lines
 * through the blank line that ends it) comes out as a retained slice of the pieces, never a copy.
 * Events spanning pieces come out as composites of views of them. A partial event waits for the piece that completes it; an SSE client could not act on it earlier
 * anyway, since it dispatches an event only at its blank line. Lines may end in LF or CRLF.
 *
 * <p>One per stream; event-loop confined. Not thread-safe.
 */
public final class SseFramer {
    private final ByteBufAllocator alloc;
    private final int maxEventBytes;
    /**
     * The pieces received and not yet cut into events, in order (owned). Kept as a list, not a
     * composite: an event handed out is a view of these buffers, and a composite's indices move
     * when its read components are discarded, which would move the bytes under a view handed out.
     */
    private final List<ByteBuf> pieces = new ArrayList<>(4);
    /** Where the next event starts in the first piece. */
    private int start;
    /** Where the search for the next event's end has got: a piece and an index in it. */
    private int scanPiece;
    private int scanIndex;
    /** Bytes held for the next event. */
    private int held;
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
        if (pieces.isEmpty()) {
            start = piece.readerIndex();
        }
        if (scanPiece == pieces.size()) {
            scanIndex = piece.readerIndex(); // the search had read all there was: it goes on in this piece
        }
        pieces.add(piece);
        held += piece.readableBytes();
    }

    /**
     * The next whole event (a retained view the caller owns), or null when the bytes so far hold
     * none.
     *
     * @throws TooLarge when an event grows past the limit without ending
     */
    public ByteBuf next() {
        while (scanPiece < pieces.size()) {
            ByteBuf p = pieces.get(scanPiece);
            int readable = p.writerIndex() - scanIndex;
            int at = readable <= 0 ? -1 : p.forEachByte(scanIndex, readable, end);
            if (at >= 0) {
                return cut(at);
            }
            scanPiece++;
            if (scanPiece < pieces.size()) {
                scanIndex = pieces.get(scanPiece).readerIndex();
            }
            // else: add() sets scanIndex to where the next piece starts
        }
        if (held > maxEventBytes) {
            throw new TooLarge(maxEventBytes);
        }
        return null;
    }

    /** The event from {@link #start} through index {@code at} of piece {@link #scanPiece}; the pieces before that go. */
    private ByteBuf cut(int at) {
        ByteBuf event;
        ByteBuf first = pieces.get(0);
        if (scanPiece == 0) {
            event = first.retainedSlice(start, at + 1 - start);
        } else {
            CompositeByteBuf c = alloc.compositeBuffer(scanPiece + 1);
            c.addComponent(true, first.retainedSlice(start, first.writerIndex() - start));
            for (int i = 1; i < scanPiece; i++) {
                ByteBuf middle = pieces.get(i);
                c.addComponent(true, middle.retainedSlice());
            }
            ByteBuf last = pieces.get(scanPiece);
            c.addComponent(true, last.retainedSlice(last.readerIndex(), at + 1 - last.readerIndex()));
            for (int i = 0; i < scanPiece; i++) {
                pieces.get(i).release();
            }
            pieces.subList(0, scanPiece).clear();
            event = c;
        }
        held -= event.readableBytes();
        ByteBuf now = pieces.get(0);
        start = at + 1;
        if (start == now.writerIndex()) {
            now.release();
            pieces.remove(0);
            start = pieces.isEmpty() ? 0 : pieces.get(0).readerIndex();
        }
        scanPiece = 0;
        scanIndex = start;
        end.reset();
        return event;
    }

    /** Whether bytes of an unfinished event are held. */
    public boolean hasPartial() {
        return held > 0;
    }

    /** The bytes of an unfinished event, handed over (null when none): at the stream's end, for whoever wants them. */
    public ByteBuf takePartial() {
        if (held == 0) {
            return null;
        }
        CompositeByteBuf c = alloc.compositeBuffer(pieces.size());
        ByteBuf first = pieces.get(0);
        c.addComponent(true, first.retainedSlice(start, first.writerIndex() - start));
        for (int i = 1; i < pieces.size(); i++) {
            c.addComponent(true, pieces.get(i).retainedSlice());
        }
        release();
        return c;
    }

    public void release() {
        for (ByteBuf p : pieces) {
            p.release();
        }
        pieces.clear();
        held = 0;
        start = 0;
        scanPiece = 0;
        end.reset();
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
