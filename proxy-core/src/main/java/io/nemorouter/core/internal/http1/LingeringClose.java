package io.nemorouter.core.internal.http1;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.socket.DuplexChannel;

import java.util.concurrent.TimeUnit;

/**
 * Closes a connection that still has unread request bytes without destroying the answer:
 * a plain close would make the kernel send RST, and the client could lose the error we just
 * wrote. We half-close (FIN) after the answer is flushed, keep discarding input for a moment,
 * then close.
 */
public final class LingeringClose {
    private static final long LINGER_MILLIS = 2000;

    private LingeringClose() {
    }

    public static void after(ChannelFuture written) {
        written.addListener(f -> {
            Channel ch = written.channel();
            if (ch instanceof DuplexChannel duplex && ch.isActive()) {
                duplex.shutdownOutput();
                ch.eventLoop().schedule(() -> ch.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
            } else {
                ch.close();
            }
        });
    }
}
