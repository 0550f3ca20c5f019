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

    /** A new buffer (owned by the caller) holding {@code body} with the edits applied; {@code body} is untouched. */
    ByteBuf apply(ByteBufAllocator alloc, ByteBuf body) {
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
