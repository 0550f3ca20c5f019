package io.nemorouter.core.openai;

import io.nemorouter.core.internal.json.Json;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Rewrites a request body by byte spans (from {@link RequestBody}'s first pass or {@link MemberSpans})
 * without re-serialising it: the result is a composite of slices of the original and the few
 * replacement bytes. Only used when a body is edited; otherwise the original buffer is forwarded as is.
 */
final class BodyEdits {
    private record Edit(int start, int end, ByteBuf replacement) {
    }

    private final List<Edit> edits = new ArrayList<>(2);

    /** Replaces the bytes {@code [start, end)} with a JSON string literal of {@code value}. */
    BodyEdits replaceWithString(int start, int end, String value) {
        return replace(start, end, Json.quote(value).getBytes(StandardCharsets.UTF_8));
    }

    /** Replaces the bytes {@code [start, end)} with {@code bytes}. */
    BodyEdits replace(int start, int end, byte[] bytes) {
        edits.add(new Edit(start, end, Unpooled.wrappedBuffer(bytes)));
        return this;
    }

    /** Puts {@code bytes} before the byte at {@code at}. */
    BodyEdits insert(int at, byte[] bytes) {
        return replace(at, at, bytes);
    }

    BodyEdits remove(int start, int end) {
        edits.add(new Edit(start, end, null));
        return this;
    }

    boolean isEmpty() {
        return edits.isEmpty();
    }

    /**
     * A new buffer (owned by the caller) holding {@code body} with the edits applied; {@code body} is
     * untouched. A small body is written into one buffer (the upstream request copies a body that
     * small behind its head anyway, and one buffer is less work than a composite's bookkeeping); a
     * large one (images) is a composite of slices of it and the new bytes, never copied.
     */
    ByteBuf apply(ByteBufAllocator alloc, ByteBuf body) {
        if (edits.isEmpty()) {
            return body.retainedDuplicate();
        }
        edits.sort(BY_START);
        if (body.readableBytes() <= COPY_MAX) {
            return copy(alloc, body);
        }
        CompositeByteBuf out = alloc.compositeBuffer(edits.size() * 2 + 1);
        int base = body.readerIndex();
        int at = 0;
        for (Edit e : edits) {
            if (e.start > at) {
                out.addComponent(true, body.retainedSlice(base + at, e.start - at));
            }
            if (e.replacement != null) {
                out.addComponent(true, e.replacement);
            }
            at = Math.max(at, e.end);
        }
        if (at < body.readableBytes()) {
            out.addComponent(true, body.retainedSlice(base + at, body.readableBytes() - at));
        }
        return out;
    }

    private static final java.util.Comparator<Edit> BY_START = (a, b) -> Integer.compare(a.start, b.start);
    /** Bodies up to this size are copied with their edits into one buffer. */
    private static final int COPY_MAX = 16 * 1024;

    private ByteBuf copy(ByteBufAllocator alloc, ByteBuf body) {
        int size = body.readableBytes();
        for (Edit e : edits) {
            size += (e.replacement == null ? 0 : e.replacement.readableBytes()) - (e.end - e.start);
        }
        ByteBuf out = alloc.buffer(Math.max(size, 0));
        int base = body.readerIndex();
        int at = 0;
        for (Edit e : edits) {
            if (e.start > at) {
                out.writeBytes(body, base + at, e.start - at);
            }
            if (e.replacement != null) {
                out.writeBytes(e.replacement, e.replacement.readerIndex(), e.replacement.readableBytes());
                e.replacement.release();
            }
            at = Math.max(at, e.end);
        }
        if (at < body.readableBytes()) {
            out.writeBytes(body, base + at, body.readableBytes() - at);
        }
        return out;
    }
}
