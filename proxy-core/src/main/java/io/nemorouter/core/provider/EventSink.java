package io.nemorouter.core.provider;

import io.netty.buffer.ByteBuf;

/** Where a {@link ResponseTranslator} writes the client's events. */
public interface EventSink {
    /** One whole server-sent event ({@code data: ...\n\n}) for the client; ownership of {@code event} passes to the sink. */
    void event(ByteBuf event);
}
