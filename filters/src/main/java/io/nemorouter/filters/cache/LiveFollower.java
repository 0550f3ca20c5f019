package io.nemorouter.filters.cache;

import io.nemorouter.core.exchange.AnswerStream;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.List;

/**
 * A follower that asked for a stream, of a leader that streams: it receives the leader's events as
 * they arrive, on its own event loop, as a cache hit (nobody is paid for it). Its head goes out
 * with the first event; the leader's end ends it (with the usage event when it asked for one), and
 * the leader's failure after that breaks it off as an upstream's would.
 */
final class LiveFollower {
    private final Exchange ex;
    private final String key;
    private final Runnable onOwn;
    /** Set under the flight's lock when the first events are handed over: from then on it cannot go on its own. */
    private boolean started;
    /** On the follower's loop only. */
    private AnswerStream stream;

    LiveFollower(Exchange ex, String key, Runnable onOwn) {
        this.ex = ex;
        this.key = key;
        this.onOwn = onOwn;
    }

    Exchange exchange() {
        return ex;
    }

    /** How it goes upstream on its own, when the leader ends before it had any event. */
    Runnable onOwn() {
        return onOwn;
    }

    /** Under the flight's lock. */
    boolean started() {
        return started;
    }

    /** Sends {@code events} (each one whole; not changed after) on the follower's loop. Under the flight's lock. */
    void send(List<byte[]> events) {
        started = true;
        ex.eventLoop().execute(() -> {
            if (start()) {
                for (byte[] e : events) {
                    stream.event(Unpooled.wrappedBuffer(e));
                }
            }
        });
    }

    /** The leader's stream ended well: {@code tail} (the usage event when asked for, {@code [DONE]}), then the end. */
    void end(byte[] tail, double savedCost) {
        ex.eventLoop().execute(() -> {
            if (start()) {
                ex.set(CacheHit.KEY, new CacheHit(Math.max(0, savedCost), 0));
                if (tail.length > 0) {
                    stream.event(Unpooled.wrappedBuffer(tail));
                }
                stream.end();
            }
        });
    }

    /** The leader's stream broke after this follower had events from it: so does this one. */
    void abort() {
        ex.eventLoop().execute(() -> {
            if (start()) {
                stream.abort(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_stream_broken",
                        "The stream this answer was shared from broke off before its end."));
            }
        });
    }

    /** The head, once: a hit, at no cost; false when the client has gone. */
    private boolean start() {
        if (stream == null && !ex.finished()) {
            CacheFilter.markHit(ex, key, 0);
            stream = ex.respondStream();
        }
        return stream != null && !ex.finished();
    }
}
