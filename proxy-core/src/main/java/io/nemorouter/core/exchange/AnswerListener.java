package io.nemorouter.core.exchange;

import io.netty.buffer.ByteBuf;

/**
 * Follows one exchange's answer, as it goes to the client: registered with
 * {@link Exchange#listen} (by a filter, for the requests it cares about), so an answer nobody
 * listens to costs nothing. Calls come on the exchange's event loop, in order, and must be quick:
 * hand heavy work off.
 *
 * <p>Buffers passed in are views valid during the call only: read them, copy what you keep, do not release them.
 */
public interface AnswerListener {
    /** The head is about to be written with {@code status}; {@link Exchange#responseHeader} still works here. */
    default void onHead(Exchange exchange, int status) {
    }

    /** A piece of a body that is not an event stream, in order; usually the whole body at once. */
    default void onBody(Exchange exchange, ByteBuf piece) {
    }

    /**
     * One server-sent event of a streamed answer, whole ({@code data: ...} through its blank line),
     * exactly as the client gets it, in order.
     */
    default void onEvent(Exchange exchange, ByteBuf event) {
    }

    /**
     * An attempt failed before any of its answer reached the client; another deployment may be
     * tried next (what a filter reserved for that attempt can be given back here).
     */
    default void onAttemptFailed(Exchange exchange, AttemptRecord attempt) {
    }

    /** The exchange has finished; the same record {@link CompletionObserver}s get. */
    default void onComplete(Completion completion) {
    }
}
