package io.nemorouter.filters.cache;

import io.lettuce.core.MapScanCursor;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.ByteArrayOutput;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.nemorouter.filters.cluster.RedisLink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

/**
 * The response cache in Redis, shared by every gateway of a cluster (cluster mode): an answer one
 * replica stored is a hit on all. Each answer is one key, {@code {prefix}:cache:e:<cache key>},
 * holding {@link CacheEntry#encode()}'s bytes and expired by Redis after the answer's TTL; an index
 * beside them (a sorted set by expiry, a hash of each answer's size, scope and model, a byte
 * counter; see {@code cache-store.lua}) keeps the shared bounds, serves {@code /cache/stats}
 * without a scan and lets a flush find a tenant's answers.
 *
 * <p>Nothing here waits on an event loop: a lookup is one {@code GET} whose answer comes back on
 * Lettuce's thread; a store is one script call sent from the cache's writer thread, not waited
 * for. A lookup that fails or outlasts the link's timeout is a miss (counted in
 * {@code nemo_cluster_fallbacks_total{what="cache"}}); a store that fails is dropped.
 */
final class RedisCacheStore implements CacheStore {
    private static final Logger LOG = LoggerFactory.getLogger(RedisCacheStore.class);
    private static final StringCodec CODEC = StringCodec.UTF8;
    private static final String SCRIPT = "cache-store";
    /** How long the figures {@link #entries()} and {@link #bytes()} give (gauges) are kept before they are read again. */
    private static final long FIGURES_FOR_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** Answers a flush reads, and removes, per round trip. */
    private static final int FLUSH_BATCH = 500;

    private final RedisLink link;
    private final long maxEntries;
    private final long maxBytes;
    /** {@code {prefix}:cache:e:}: an answer's key is this and its cache key. */
    private final String entryPrefix;
    /** The index: expiry (sorted set), descriptions (hash), bytes (counter). */
    private final String[] index;
    private volatile Size figures = new Size(0, 0);
    private volatile long figuresRead = System.nanoTime() - FIGURES_FOR_NANOS;
    private final AtomicBoolean reading = new AtomicBoolean();

    RedisCacheStore(RedisLink link, long maxEntries, long maxBytes) {
        this.link = link;
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
        this.entryPrefix = link.key("cache:e:");
        this.index = new String[]{link.key("cache:expiry"), link.key("cache:described"), link.key("cache:bytes")};
    }

    @Override
    public boolean local() {
        return false;
    }

    /** Never: a shared store is read with {@link #lookup}, so that no event loop waits for Redis. */
    @Override
    public CacheEntry get(String key, long nowMillis) {
        throw new UnsupportedOperationException("the shared cache is read with lookup()");
    }

    @Override
    public CompletableFuture<CacheEntry> lookup(String key, long nowMillis) {
        CompletableFuture<CacheEntry> out = new CompletableFuture<>();
        try {
            link.async().dispatch(CommandType.GET, new ByteArrayOutput<>(CODEC), new CommandArgs<>(CODEC).addKey(entryPrefix + key))
                    .whenComplete((bytes, error) -> {
                        if (error != null) {
                            missed(out, error);
                            return;
                        }
                        CacheEntry e = bytes == null ? null : CacheEntry.decode(bytes);
                        out.complete(e != null && e.expiresMillis() > nowMillis ? e : null);
                    });
        } catch (RuntimeException e) {
            missed(out, e);
        }
        return out;
    }

    /** Redis did not answer the lookup (down, or slower than the timeout): a miss, counted. */
    private void missed(CompletableFuture<CacheEntry> out, Throwable error) {
        LOG.debug("cache: lookup without Redis's answer, a miss: {}", error.toString());
        link.fellBack("cache");
        out.complete(null);
    }

    /** On the writer thread: sends the answer off and does not wait; one Redis does not take is dropped. */
    @Override
    public void put(String key, CacheEntry entry) {
        byte[] value = entry.encode();
        long ttl = entry.expiresMillis() - entry.createdMillis();
        if (value.length > maxBytes || ttl <= 0) {
            return;
        }
        String described = value.length + " " + entry.scope().length() + " " + entry.scope() + entry.model();
        try { // the answer goes as its bytes, not as text
            link.script(SCRIPT, () -> new IntegerOutput<>(CODEC), index, a -> a.add("put").add(entryPrefix).add(key).add(ttl)
                    .add(described).add(value.length).add(maxEntries).add(maxBytes).add(value)).whenComplete((evicted, error) -> dropped(error));
        } catch (RuntimeException e) {
            dropped(e);
        }
    }

    private static void dropped(Throwable error) {
        if (error != null) {
            LOG.debug("cache: an answer not stored in Redis: {}", error.toString());
        }
    }

    /** On the writer thread: reads the index a page at a time and removes the answers {@code which} accepts. */
    @Override
    public int remove(Predicate<CacheEntry> which) {
        int removed = 0;
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
            MapScanCursor<String, String> page = link.sync().hscan(index[1], cursor, ScanArgs.Builder.limit(FLUSH_BATCH));
            List<String> doomed = new ArrayList<>();
            page.getMap().forEach((key, described) -> {
                CacheEntry e = described(described);
                if (e == null || which.test(e)) {
                    doomed.add(key);
                }
            });
            if (!doomed.isEmpty()) {
                List<String> args = new ArrayList<>(doomed.size() + 2);
                args.add("drop");
                args.add(entryPrefix);
                args.addAll(doomed);
                Long n = link.<Long>script(SCRIPT, ScriptOutputType.INTEGER, index, args.toArray(String[]::new))
                        .toCompletableFuture().join();
                removed += n.intValue();
            }
            cursor = page;
        } while (!cursor.isFinished());
        figuresRead = System.nanoTime() - FIGURES_FOR_NANOS; // read them again at the next ask
        return removed;
    }

    /** What the index says of an answer ({@code "<size> <scope length> <scope><model>"}), as an entry a flush's test reads; null when unreadable. */
    static CacheEntry described(String described) {
        try {
            int a = described.indexOf(' ');
            int b = described.indexOf(' ', a + 1);
            int scopeLength = Integer.parseInt(described, a + 1, b, 10);
            String scope = described.substring(b + 1, b + 1 + scopeLength);
            String model = described.substring(b + 1 + scopeLength);
            return new CacheEntry(scope, model, null, 0, 0, false, null, 0, 0, 0, 0, new byte[0]);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The shared figures as last read (at most some seconds old); a gauge asks, on whatever thread, and never waits. */
    @Override
    public long entries() {
        return figures().entries();
    }

    @Override
    public long bytes() {
        return figures().bytes();
    }

    private Size figures() {
        if (System.nanoTime() - figuresRead >= FIGURES_FOR_NANOS && reading.compareAndSet(false, true)) {
            try {
                size().whenComplete((s, e) -> reading.set(false));
            } catch (RuntimeException e) {
                reading.set(false); // the last figures stand
            }
        }
        return figures;
    }

    /** The answers not expired (exact: a count in the sorted set) and their bytes (the counter), in one round trip. */
    @Override
    public CompletableFuture<Size> size() {
        return link.<List<Object>>script(SCRIPT, ScriptOutputType.MULTI, index, "size", entryPrefix).toCompletableFuture()
                .thenApply(r -> {
                    Size s = new Size(((Number) r.get(0)).longValue(), Math.max(0, ((Number) r.get(1)).longValue()));
                    figures = s;
                    figuresRead = System.nanoTime();
                    return s;
                });
    }

    /** The link is the cluster extension's to close. */
    @Override
    public void close() {
    }
}
