package io.nemorouter.core.provider;

import io.netty.buffer.ByteBuf;

/** Where a {@link ResponseTranslator} writes the client's events. */
public interface EventSink {
    /**
     * One whole server-sent event ({@code data: ...\n\n}) for the client. The sink takes what it
     * needs (a retained view); the caller keeps its own reference to {@code event}.
     */
    void event(ByteBuf event);
}
