package io.nemorouter.core.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Rewrites a request body by byte spans (from {@link RequestFields}) without re-serialising it:
 * the result is a composite of slices of the original and the few replacement bytes.
 * Only used when a deployment needs it; otherwise the original buffer is forwarded as is.
 */
public final class BodyEdits {
    private record Edit(int start, int end, ByteBuf replacement) {
    }

    private final List<Edit> edits = new ArrayList<>(2);

    /** Replaces the bytes {@code [start, end)} with a JSON string literal of {@code value}. */
    public BodyEdits replaceWithString(int start, int end, String value) {
        edits.add(new Edit(start, end, Unpooled.wrappedBuffer(Json.quote(value).getBytes(StandardCharsets.UTF_8))));
        return this;
    }

    public BodyEdits remove(int start, int end) {
        edits.add(new Edit(start, end, null));
        return this;
    }

    public boolean isEmpty() {
        return edits.isEmpty();
    }

    /** A new buffer (owned by the caller) holding {@code body} with the edits applied; {@code body} is untouched. */
    public ByteBuf apply(ByteBufAllocator alloc, ByteBuf body) {
        if (edits.isEmpty()) {
            return body.retainedDuplicate();
        }
        edits.sort((a, b) -> Integer.compare(a.start, b.start));
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
}
