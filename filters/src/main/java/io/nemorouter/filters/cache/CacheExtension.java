package io.nemorouter.filters.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.Phase;
import io.nemorouter.core.extension.RouteAuth;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.filters.cluster.RedisLink;
import io.nemorouter.filters.keys.Readers;
import io.nemorouter.filters.store.StoreException;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.prometheus.client.Counter;
import io.prometheus.client.Gauge;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The exact-match response cache ({@code nemo.cache}, on by default): a repeated chat or embeddings
 * request of the same tenant is answered from the store without calling the provider, at no cost.
 * Answers are stored on a writer thread of their own (an event loop only reads); the admin routes
 * are {@code GET /cache/stats} and {@code POST /cache/flush}. In cluster mode (a {@link RedisLink}
 * published) the answers are kept in Redis, shared by every replica, instead of the local file;
 * coalescing of identical requests stays within each replica.
 */
public final class CacheExtension implements Extension {
    private static final Logger LOG = LoggerFactory.getLogger(CacheExtension.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** After auth (100) and limits (200), before routing: a hit is still a request the key made. */
    static final int ORDER = 300;

    private final Clock clock;
    private WriteBehindStore store;
    private CacheWriter writer;

    public CacheExtension() {
        this(Clock.systemUTC());
    }

    public CacheExtension(Clock clock) {
        this.clock = clock;
    }

    @Override
    public String name() {
        return "cache";
    }

    @Override
    public int order() {
        return 200; // after keys (its Readers service), before the request log
    }

    @Override
    public void start(ExtensionContext ctx) {
        Config c = ctx.config();
        long ttl = c.getDuration("ttl", TimeUnit.MILLISECONDS);
        if (ttl < 1000) {
            throw ctx.configError("ttl", "must be at least 1s");
        }
        long maxEntries = c.getLong("max_entries");
        if (maxEntries < 10) {
            throw ctx.configError("max_entries", "must be at least 10");
        }
        long maxBytes = c.getBytes("max_bytes");
        long maxEntry = c.getBytes("max_entry_size");
        if (maxEntry < 1024 || maxEntry > Integer.MAX_VALUE / 2 || maxEntry > maxBytes) {
            throw ctx.configError("max_entry_size", "must be from 1 KiB to max_bytes");
        }
        long average = c.getBytes("average_entry_size");
        if (average < 256 || average > maxEntry) {
            throw ctx.configError("average_entry_size", "must be from 256 bytes to max_entry_size");
        }
        int maxFollowers = c.getInt("coalesce_max_waiters");
        if (maxFollowers < 0) {
            throw ctx.configError("coalesce_max_waiters", "must be 0 (no coalescing) or more");
        }
        long coalesceWait = c.getDuration("coalesce_wait", TimeUnit.MILLISECONDS);
        if (coalesceWait < 1 || coalesceWait >= ctx.gatewayConfig().filterTimeout.toMillis()) {
            throw ctx.configError("coalesce_wait", "must be above 0 and below nemo.server.filter_timeout ("
                    + ctx.gatewayConfig().filterTimeout.toSeconds() + " s)");
        }
        RedisLink link = ctx.service(RedisLink.class);
        CacheStore kept;
        if (link != null) {
            kept = new RedisCacheStore(link, maxEntries, maxBytes); // cluster mode: one cache for every replica
        } else {
            try {
                kept = RingCacheStore.open(ctx.dataDir(), maxEntries, maxBytes, clock::millis);
            } catch (StoreException e) {
                throw new ConfigError("nemo.cache: the cache cannot be opened: " + e.getMessage());
            }
        }
        Counter dropped = Counter.build("nemo_cache_stores_dropped_total",
                "Answers not stored because the cache's writer was behind").register(ctx.metrics());
        writer = new CacheWriter(4096, dropped);
        store = new WriteBehindStore(kept, writer);
        Counter lookups = Counter.build("nemo_cache_lookups_total", "Cache lookups by result (hit, miss, bypass)")
                .labelNames("result").register(ctx.metrics());
        Gauge.build("nemo_cache_entries", "Answers in the cache").register(ctx.metrics()).setChild(new Gauge.Child() {
            @Override
            public double get() {
                return store.entries();
            }
        });
        Gauge.build("nemo_cache_bytes", "Bytes of answers in the cache").register(ctx.metrics()).setChild(new Gauge.Child() {
            @Override
            public double get() {
                return store.bytes();
            }
        });
        ctx.filter(Phase.BEFORE_ROUTING, ORDER, new CacheFilter(store, ttl, (int) maxEntry, c.getBoolean("store_truncated"),
                clock::millis, lookups, new Flights(maxFollowers), coalesceWait));
        Readers readers = ctx.service(Readers.class);
        RouteAuth admin = readers != null ? readers::admitMaster : ex -> new OpenAiError(HttpResponseStatus.FORBIDDEN,
                "permission_error", "admin_api_disabled", null, "The cache's admin routes need the keys extension and a master key.");
        ctx.route(HttpMethod.GET, "/cache/stats", admin, ex -> store.size().whenComplete((size, error) -> {
            if (error != null) {
                ex.respond(unreachable("read"));
            } else {
                ex.respond(json(stats(lookups, size, link != null)));
            }
        }));
        ctx.route(HttpMethod.POST, "/cache/flush", admin, this::flush);
        if (link != null) {
            LOG.info("cache: on, shared by the cluster's gateways through Redis, up to {} answers, ttl {} s", maxEntries, ttl / 1000);
        } else {
            LOG.info("cache: on, {} answers kept up to {}, ttl {} s", store.entries(), maxEntries, ttl / 1000);
        }
    }

    /** The figures are the store's ({@code shared}: every replica's, from Redis); the lookups, this gateway's. */
    private static ObjectNode stats(Counter lookups, CacheStore.Size size, boolean shared) {
        ObjectNode o = JSON.createObjectNode();
        double hits = lookups.labels("hit").get();
        double misses = lookups.labels("miss").get();
        o.put("store", shared ? "redis" : "local");
        o.put("entries", size.entries());
        o.put("bytes", size.bytes());
        o.put("hits", (long) hits);
        o.put("misses", (long) misses);
        o.put("bypasses", (long) lookups.labels("bypass").get());
        o.put("hit_rate", hits + misses == 0 ? 0 : hits / (hits + misses));
        return o;
    }

    /** {@code POST /cache/flush}: everything, or one organization's, team's, key's or model's answers. */
    private void flush(Exchange ex) {
        JsonNode body;
        try {
            body = ex.content().readableBytes() == 0 ? JSON.createObjectNode() : ex.body().json();
        } catch (InvalidBodyException e) {
            ex.respond(e.error());
            return;
        }
        for (var it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!Set.of("organization_id", "team_id", "key_id", "model").contains(f)) {
                ex.respond(OpenAiError.badRequest("invalid_field", f, "Unknown field `" + f
                        + "`; flush takes organization_id, team_id, key_id or model (or nothing, for everything)."));
                return;
            }
        }
        Predicate<CacheEntry> which = e -> true;
        if (body.hasNonNull("organization_id")) {
            // the organization's own answers and those of its teams with a cache policy of their own
            String org = "org:" + body.get("organization_id").asText();
            which = which.and(e -> e.scope().equals(org) || e.scope().startsWith(org + "/"));
        }
        if (body.hasNonNull("team_id")) {
            String team = "team:" + body.get("team_id").asText();
            which = which.and(e -> e.scope().equals(team) || e.scope().endsWith("/" + team));
        }
        if (body.hasNonNull("key_id")) {
            which = which.and(e -> e.scope().equals("key:" + body.get("key_id").asText()));
        }
        if (body.hasNonNull("model")) {
            which = which.and(e -> e.model().equals(body.get("model").asText()));
        }
        store.remove(which, n -> {
            if (n == WriteBehindStore.BUSY) {
                ex.respond(new OpenAiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "api_error", "cache_busy", null,
                        "The cache's writer is behind; try the flush again in a moment."));
                return;
            }
            if (n == WriteBehindStore.UNREACHABLE) {
                ex.respond(unreachable("flush"));
                return;
            }
            LOG.info("cache: flushed {} answers", n);
            ObjectNode o = JSON.createObjectNode();
            o.put("flushed", n);
            ex.respond(json(o));
        });
    }

    /** The shared cache's Redis did not answer in time: the admin call is refused, to be tried again. */
    private static OpenAiError unreachable(String what) {
        return new OpenAiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "api_error", "cache_unreachable", null,
                "The shared cache's Redis did not answer; could not " + what + " it. Try again in a moment.");
    }

    private static FullHttpResponse json(ObjectNode o) {
        try {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.wrappedBuffer(JSON.writeValueAsBytes(o)));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
            return r;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (writer != null) {
            writer.close(5_000);
        }
        if (store != null) {
            store.close();
        }
    }
}
