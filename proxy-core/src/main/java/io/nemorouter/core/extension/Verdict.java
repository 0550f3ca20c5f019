package io.nemorouter.core.extension;

/** What a {@link RequestFilter} decided. */
public enum Verdict {
    /** Pass the exchange to the next filter (or on to routing, or to the provider). */
    CONTINUE,
    /** The filter answered the exchange ({@code exchange.respond(...)}); nothing else runs. */
    ANSWERED,
    /**
     * The filter will decide later (after an asynchronous lookup): it then calls
     * {@code exchange.proceed()} or answers, on the exchange's event loop.
     */
    PENDING
}
