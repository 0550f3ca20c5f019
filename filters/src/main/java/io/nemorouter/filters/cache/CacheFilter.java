package io.nemorouter.filters.cache;

import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.filters.keys.Principal;
import io.netty.handler.codec.http.FullHttpResponse;
import io.prometheus.client.Counter;

import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Before routing, after auth and limits (a hit counts toward RPM, and is refused by a blocked key
 * like any call): answers a request from the cache when its tenant has the same request stored and
 * unexpired ({@code x-nemo-cache: hit}, {@code x-nemo-cache-key}, {@code x-nemo-cache-age}); else
 * marks it a {@code miss} and records its answer. {@code nemo_cache: false} skips the read
 * ({@code bypass}) and refreshes the entry with the new answer.
 */
final class CacheFilter implements RequestFilter {
    static final String KEY_HEADER = "x-nemo-cache-key";
    static final String AGE_HEADER = "x-nemo-cache-age";

    private final CacheStore store;
    private final long ttlMillis;
    private final int maxEntryBytes;
    private final boolean storeTruncated;
    private final LongSupplier clock;
    private final Consumer<Runnable> writer;
    private final Counter lookups;

    CacheFilter(CacheStore store, long ttlMillis, int maxEntryBytes, boolean storeTruncated, LongSupplier clock,
                Consumer<Runnable> writer, Counter lookups) {
        this.store = store;
        this.ttlMillis = ttlMillis;
        this.maxEntryBytes = maxEntryBytes;
        this.storeTruncated = storeTruncated;
        this.clock = clock;
        this.writer = writer;
        this.lookups = lookups;
    }

    @Override
    public Verdict filter(Exchange ex) {
        Endpoint endpoint = ex.endpoint();
        if (endpoint != Endpoint.CHAT_COMPLETIONS && endpoint != Endpoint.EMBEDDINGS) {
            return Verdict.CONTINUE;
        }
        String model = ex.body().model();
        if (model == null) {
            return Verdict.CONTINUE;
        }
        JsonNode json;
        try {
            json = ex.body().json();
        } catch (InvalidBodyException e) {
            return Verdict.CONTINUE; // the first pass accepted it; the upstream judges the rest
        }
        String scope = scope(ex.get(Principal.KEY));
        String key = CacheKey.of(scope, endpoint.path, model, json);
        boolean bypass = Boolean.FALSE.equals(ex.body().cache());
        if (!bypass) {
            long now = clock.getAsLong();
            CacheEntry hit = store.get(key, now);
            if (hit != null && hit.scope().equals(scope) && hit.streamed() == ex.body().stream()) {
                lookups.labels("hit").inc();
                ex.cacheDecision("hit");
                long age = Math.max(0, now - hit.createdMillis());
                ex.set(CacheHit.KEY, new CacheHit(hit.cost(), age));
                ex.responseHeader(KEY_HEADER, key.substring(0, 16));
                ex.responseHeader(AGE_HEADER, Long.toString(age / 1000));
                FullHttpResponse answer = Replay.of(hit, ex.body().includeUsage());
                ex.respond(answer);
                return Verdict.ANSWERED;
            }
        }
        lookups.labels(bypass ? "bypass" : "miss").inc();
        ex.cacheDecision(bypass ? "bypass" : "miss");
        ex.listen(new Recorder(key, scope, model, ttlMillis, maxEntryBytes, storeTruncated, clock,
                entry -> writer.accept(() -> store.put(key, entry))));
        return Verdict.CONTINUE;
    }

    /**
     * Whose answers a request may read: its organization's; a key outside any organization, its
     * team's, else its own; the master key and an open gateway have a scope each.
     */
    static String scope(Principal p) {
        if (p == null) {
            return "open";
        }
        if (p.master()) {
            return "master";
        }
        if (p.orgRecord() != null) {
            return "org:" + p.orgRecord().id();
        }
        if (p.teamRecord() != null) {
            return "team:" + p.teamRecord().id();
        }
        return p.keyRecord() == null ? "open" : "key:" + p.keyRecord().id();
    }
}
