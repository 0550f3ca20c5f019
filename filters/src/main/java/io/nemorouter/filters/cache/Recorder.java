package io.nemorouter.filters.cache;

import io.nemorouter.core.exchange.AnswerListener;
import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Usage;
import io.nemorouter.core.openai.UsageScanner;
import io.netty.buffer.ByteBuf;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Records a missed (or refreshed) answer as it goes to the client, and stores it when the exchange
 * has finished well: status 200, not cut short, its usage from the upstream (not estimated), not
 * over the size cap, and not truncated by {@code max_tokens} when the cache is told to skip those.
 * A stream is kept without its usage event and {@code "usage":null} members (as a client that did
 * not ask gets it); a replay adds the usage event for a client that asks.
 */
final class Recorder implements AnswerListener {

    private final String scope;
    private final String model;
    private final long ttlMillis;
    private final int maxBytes;
    private final boolean storeTruncated;
    private final Consumer<CacheEntry> store;
    private final java.util.function.LongSupplier clock;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream(1024);
    private boolean ok = true;
    private boolean events;

    Recorder(String scope, String model, long ttlMillis, int maxBytes, boolean storeTruncated,
             java.util.function.LongSupplier clock, Consumer<CacheEntry> store) {
        this.scope = scope;
        this.model = model;
        this.ttlMillis = ttlMillis;
        this.maxBytes = maxBytes;
        this.storeTruncated = storeTruncated;
        this.clock = clock;
        this.store = store;
    }

    @Override
    public void onHead(Exchange exchange, int status) {
        ok &= status == 200;
    }

    @Override
    public void onBody(Exchange exchange, ByteBuf piece) {
        append(piece, piece.readerIndex(), piece.writerIndex());
    }

    @Override
    public void onEvent(Exchange exchange, ByteBuf event) {
        events = true;
        if (!ok) {
            return;
        }
        if (UsageScanner.isUsageOnly(event)) {
            return; // added back on a replay whose client asks
        }
        int[] nullUsage = UsageScanner.nullUsageMember(event);
        if (nullUsage == null) {
            append(event, event.readerIndex(), event.writerIndex());
        } else {
            append(event, event.readerIndex(), nullUsage[0]);
            append(event, nullUsage[1], event.writerIndex());
        }
    }

    private static final java.util.regex.Pattern LENGTH_FINISH = java.util.regex.Pattern.compile("\"finish_reason\"\\s*:\\s*\"length\"");


    private void append(ByteBuf b, int from, int to) {
        if (!ok) {
            return;
        }
        if (body.size() + (to - from) > maxBytes) {
            ok = false; // over the cap: never stored
            body.reset();
            return;
        }
        try {
            b.getBytes(from, body, to - from);
        } catch (java.io.IOException impossible) {
            throw new java.io.UncheckedIOException(impossible); // a ByteArrayOutputStream does not throw
        }
    }

    @Override
    public void onComplete(Completion c) {
        CacheEntry entry = entry(c);
        if (entry != null) {
            store.accept(entry);
        }
        if (landed != null) {
            landed.accept(entry); // the followers: answered from it, or sent upstream on their own when null
        }
    }

    /** Told when the exchange ends, with the entry stored (null when none was): the followers of a leader. */
    private Consumer<CacheEntry> landed;

    void onLanding(Consumer<CacheEntry> then) {
        this.landed = then;
    }

    private CacheEntry entry(Completion c) {
        Usage u = c.usage();
        if (!ok || c.status() != 200 || c.failure() != null || c.cancelled() || u == null || u.estimated() || body.size() == 0) {
            return null;
        }
        byte[] bytes = body.toByteArray();
        if (!storeTruncated && LENGTH_FINISH.matcher(new String(bytes, StandardCharsets.UTF_8)).find()) {
            return null;
        }
        long now = clock.getAsLong();
        return new CacheEntry(scope, model, c.deployment() == null ? null : c.deployment().id(), now, now + ttlMillis,
                events, events ? "text/event-stream" : "application/json", u.promptTokens(), u.completionTokens(),
                u.cachedTokens(), Math.max(0, c.cost()), bytes);
    }
}
