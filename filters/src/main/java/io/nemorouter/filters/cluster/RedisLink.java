package io.nemorouter.filters.cluster;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.CommandOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.nemorouter.core.extension.HealthCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The gateway's link to Redis in cluster mode: one multiplexed command connection (Lettuce,
 * asynchronous, on its own Netty threads: nothing here ever blocks an event loop), one pub/sub
 * connection, the Lua scripts, and what {@code /health} says of the link. Every key it names
 * starts with {@code {prefix}:}: the braces are a Redis Cluster hash tag, so every key of one
 * gateway cluster lives in one slot and a script may touch several of them.
 *
 * <p>Redis may be one server (a {@code redis://} or {@code rediss://} URL, or a Sentinel's, which
 * names the master) or a sharded Redis Cluster: a URL listing several nodes
 * ({@code redis://h1:6379,h2:6379}), or one node's URL whose server says {@code cluster_enabled:1}.
 * On a Redis Cluster the commands go to the shard that owns the prefix's slot (Lettuce follows
 * {@code MOVED} and refreshes the topology on redirects, reconnects and every few seconds, so a
 * failover to a replica is followed); the one slot means one shard holds a gateway cluster's
 * state, with its replicas for failover (a second gateway cluster with another prefix may land on
 * another shard).
 *
 * <p>Commands that get no answer within {@code timeout} fail (the callers' policy decides what
 * that means: fail open or closed); while the link is down commands fail at once instead of
 * queueing, and Lettuce reconnects on its own. A ping each second keeps the health figure fresh.
 */
public final class RedisLink implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RedisLink.class);

    /**
     * What the link talks through, whether Redis is one server or a cluster: the request path's
     * connection, the slow one (start-up and admin: the connect timeout), and pub/sub.
     */
    private record Connections(AbstractRedisClient client, StatefulConnection<String, String> fast, RedisClusterAsyncCommands<String, String> fastAsync,
                               StatefulConnection<String, String> slow, RedisClusterAsyncCommands<String, String> slowAsync,
                               RedisClusterCommands<String, String> slowSync, StatefulRedisPubSubConnection<String, String> pubsub,
                               boolean sharded) {
        /**
         * On a Redis Cluster, Lettuce opens the connection to a node at the first command for it,
         * and (commands being refused while not connected, so that an outage fails fast) refuses
         * that command: the node that owns {@code slot} is connected ahead, for both connections,
         * waiting at most {@code wait} (zero: not waiting, as the ping does after a failover).
         */
        void connectSlotOwner(int slot, Duration wait) {
            if (!sharded) {
                return;
            }
            for (StatefulConnection<String, String> c : java.util.List.of(fast, slow)) {
                StatefulRedisClusterConnection<String, String> cc = (StatefulRedisClusterConnection<String, String>) c;
                io.lettuce.core.cluster.models.partitions.RedisClusterNode owner = cc.getPartitions().getPartitionBySlot(slot);
                if (owner == null) {
                    continue; // the slot is not served (yet): the topology refresh will tell
                }
                // by host and port: the connection a keyed command is written to (one by node id is another)
                CompletableFuture<?> connected = cc.getConnectionAsync(owner.getUri().getHost(), owner.getUri().getPort());
                if (!wait.isZero()) {
                    try {
                        connected.get(wait.toMillis(), TimeUnit.MILLISECONDS);
                    } catch (Exception e) {
                        throw new io.lettuce.core.RedisConnectionException("cannot connect to the node that holds the keys, "
                                + owner.getUri() + ": " + e, e);
                    }
                }
            }
        }

        void close() {
            for (AutoCloseable c : new AutoCloseable[] {pubsub, fast, slow}) {
                try {
                    if (c != null) {
                        c.close();
                    }
                } catch (Exception e) {
                    LOG.debug("cluster: closing a Redis connection: {}", e.toString());
                }
            }
        }
    }

    private final AbstractRedisClient client;
    private final ClientResources resources;
    private final RedisClusterAsyncCommands<String, String> fast;
    private final Connections connections;
    private final StatefulRedisPubSubConnection<String, String> pubsub;
    private final RedisPubSubAdapter<String, String> relay = new RedisPubSubAdapter<>() {
        @Override
        public void message(String channel, String message) {
            for (BiConsumer<String, String> l : listeners.getOrDefault(channel, new CopyOnWriteArrayList<>())) {
                try {
                    l.accept(channel, message);
                } catch (RuntimeException e) {
                    LOG.error("cluster: a listener of {} failed on {}", channel, message, e);
                }
            }
        }
    };
    private final String prefix;
    /** The Redis Cluster slot of every key of this link ({@link #slotOf}). */
    private final int slot;
    private final Duration timeout;
    private final String replica;
    private final String where;
    private final Map<String, String> shas = new ConcurrentHashMap<>();
    private final Map<String, String> scripts = new ConcurrentHashMap<>();
    private final Map<String, CopyOnWriteArrayList<BiConsumer<String, String>>> listeners = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<Runnable> onReconnect = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService timer;
    private final boolean failOpen;
    private volatile io.prometheus.client.Counter fallbacks;
    private volatile boolean up = true;
    private volatile long lastPingMicros = -1;
    private volatile String lastError;
    private volatile long downSince;

    private RedisLink(ClientResources resources, Connections connections, String prefix, Duration timeout, String replica, String where,
                      boolean failOpen) {
        this.failOpen = failOpen;
        this.client = connections.client();
        this.resources = resources;
        this.connections = connections;
        this.fast = connections.fastAsync();
        this.pubsub = connections.pubsub();
        this.prefix = prefix;
        this.slot = slotOf(prefix);
        this.timeout = timeout;
        this.replica = replica;
        this.where = where;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nemo-cluster");
            t.setDaemon(true);
            return t;
        });
        pubsub.addListener(relay);
        client.addListener(new io.lettuce.core.RedisConnectionStateListener() {
            @Override
            public void onRedisConnected(io.lettuce.core.RedisChannelHandler<?, ?> connection, java.net.SocketAddress at) {
                if (connection == pubsub) {
                    // Lettuce reconnected pub/sub (to the same server, or on a Redis Cluster to any node that answers, as
                    // every node hears what is published) and subscribed again: what was published meanwhile is re-read
                    LOG.warn("cluster: pub/sub reconnected to {}; re-reading what may have been missed", at);
                    // a command on the connection answers after the subscriptions Lettuce renews on reconnecting: from
                    // then on nothing published is missed, so the re-read that follows sees all that was
                    pubsub.async().ping().whenComplete((pong, e) -> catchUp());
                }
            }
        });
        timer.scheduleWithFixedDelay(this::ping, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * Connects to {@code uri} (anything Lettuce accepts: {@code redis://}, {@code rediss://},
     * password, database, Sentinel, a Redis Cluster's nodes), waiting at most {@code connectTimeout}.
     *
     * @throws IllegalArgumentException the URI is not one Lettuce reads
     * @throws io.lettuce.core.RedisException Redis cannot be reached
     */
    public static RedisLink connect(String uri, String prefix, Duration timeout, Duration connectTimeout, String replica, boolean failOpen) {
        return connect(uri, prefix, timeout, connectTimeout, replica, failOpen, null);
    }

    /**
     * As above; {@code caFile}: the PEM certificates a {@code rediss://} server's certificate must
     * chain to (a private CA), instead of the JVM's default trust store; null for the default.
     */
    public static RedisLink connect(String uri, String prefix, Duration timeout, Duration connectTimeout, String replica, boolean failOpen,
                                    java.io.File caFile) {
        // two I/O threads of its own (Lettuce picks its transport, epoll or NIO, whatever the gateway's loops use);
        // reconnect tries back off from 100 ms to at most 2 s (Lettuce's default climbs to 30 s): back within seconds of Redis
        ClientResources resources = ClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2)
                .reconnectDelay(io.lettuce.core.resource.Delay.exponential(Duration.ofMillis(100), Duration.ofSeconds(2), 2,
                        TimeUnit.MILLISECONDS))
                .build();
        try {
            Connections c;
            if (listsNodes(uri)) {
                c = cluster(resources, io.lettuce.core.cluster.RedisClusterURIUtil.toRedisURIs(java.net.URI.create(uri)), slotOf(prefix), timeout,
                        connectTimeout, caFile);
            } else {
                c = standalone(resources, uri, timeout, connectTimeout, caFile);
                if (clusterEnabled(c)) { // one node of a Redis Cluster: it is the seed the cluster client learns the rest from
                    c.close();
                    c.client().shutdown(Duration.ZERO, Duration.ofSeconds(2));
                    RedisURI seed = RedisURI.create(uri);
                    if (seed.getDatabase() != 0) {
                        throw new IllegalArgumentException("a Redis Cluster has database 0 only, and the URL names database " + seed.getDatabase());
                    }
                    c = cluster(resources, java.util.List.of(seed), slotOf(prefix), timeout, connectTimeout, caFile);
                }
            }
            return new RedisLink(resources, c, prefix, timeout, replica, redacted(uri), failOpen);
        } catch (RuntimeException e) {
            resources.shutdown(0, 2, TimeUnit.SECONDS);
            throw e;
        }
    }

    /** The Redis Cluster slot of every key of {@code prefix} (their hash tag). */
    private static int slotOf(String prefix) {
        return io.lettuce.core.cluster.SlotHash.getSlot("{" + prefix + "}");
    }

    /** {@code redis://h1:6379,h2:6379}: the nodes of a Redis Cluster (a Sentinel URL lists its sentinels, not nodes). */
    static boolean listsNodes(String uri) {
        int scheme = uri.indexOf("://");
        if (scheme < 0 || uri.startsWith("redis-sentinel")) {
            return false;
        }
        int end = uri.indexOf('/', scheme + 3);
        String authority = end < 0 ? uri.substring(scheme + 3) : uri.substring(scheme + 3, end);
        return authority.substring(authority.lastIndexOf('@') + 1).contains(",");
    }

    private static Connections standalone(ClientResources resources, String uri, Duration timeout, Duration connectTimeout,
                                          java.io.File caFile) {
        RedisURI redisUri = RedisURI.create(uri);
        // the handshake of a new connection (HELLO, class loading on the first) gets the connect timeout; commands get `timeout`
        redisUri.setTimeout(connectTimeout);
        RedisClient client = RedisClient.create(resources, redisUri);
        client.setOptions(options(ClientOptions.builder(), connectTimeout, caFile).build());
        try {
            StatefulRedisConnection<String, String> fast = client.connect();
            fast.setTimeout(timeout); // the request path's: the policy applies after this
            StatefulRedisConnection<String, String> slow = client.connect();
            slow.setTimeout(connectTimeout); // start-up reads and admin writes may wait longer
            return new Connections(client, fast, fast.async(), slow, slow.async(), slow.sync(), client.connectPubSub(), false);
        } catch (RuntimeException e) {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            throw e;
        }
    }

    private static Connections cluster(ClientResources resources, java.util.List<RedisURI> seeds, int slot, Duration timeout,
                                       Duration connectTimeout, java.io.File caFile) {
        for (RedisURI seed : seeds) {
            seed.setTimeout(connectTimeout); // as a standalone URI's: the handshake gets the connect timeout
        }
        RedisClusterClient client = RedisClusterClient.create(resources, seeds);
        ClusterClientOptions.Builder builder = ClusterClientOptions.builder()
                // a failover (a replica promoted), a resharding or a node gone are followed: on redirects and
                // reconnects at once, and every 5 s in any case
                .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder().enableAllAdaptiveRefreshTriggers()
                        .adaptiveRefreshTriggersTimeout(Duration.ofSeconds(1)).enablePeriodicRefresh(Duration.ofSeconds(5)).build())
                .maxRedirects(5);
        client.setOptions((ClusterClientOptions) options(builder, connectTimeout, caFile).build());
        try {
            StatefulRedisClusterConnection<String, String> fast = client.connect();
            fast.setTimeout(timeout);
            StatefulRedisClusterConnection<String, String> slow = client.connect();
            slow.setTimeout(connectTimeout);
            Connections c = new Connections(client, fast, fast.async(), slow, slow.async(), slow.sync(), client.connectPubSub(), true);
            c.connectSlotOwner(slot, connectTimeout);
            return c;
        } catch (RuntimeException e) {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            throw e;
        }
    }

    /** The options of either client: what a standalone and a cluster connection share. */
    private static ClientOptions.Builder options(ClientOptions.Builder options, Duration connectTimeout, java.io.File caFile) {
        if (caFile != null) {
            options.sslOptions(io.lettuce.core.SslOptions.builder().jdkSslProvider().trustManager(caFile).build());
        }
        return options
                .autoReconnect(true)
                // while the link is down a command fails at once: the caller's policy applies, nothing piles up
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled()) // each connection's own timeout (set on each)
                .socketOptions(SocketOptions.builder().connectTimeout(connectTimeout).keepAlive(true).build());
    }

    /** Whether the server behind a standalone connection is a node of a Redis Cluster. */
    private static boolean clusterEnabled(Connections c) {
        try {
            return c.slowSync().info("cluster").contains("cluster_enabled:1");
        } catch (io.lettuce.core.RedisCommandExecutionException e) {
            return false; // INFO refused (an ACL): it is what the URL says, one server
        }
    }

    /** Whether Redis is a sharded Redis Cluster (as {@code /health} says). */
    public boolean sharded() {
        return connections.sharded();
    }

    /** {@code {prefix}:name}: a key of this gateway cluster. */
    public String key(String name) {
        return "{" + prefix + "}:" + name;
    }

    /** This gateway's id among the replicas (its reservations and in-flight counts are kept under it). */
    public String replica() {
        return replica;
    }

    public Duration timeout() {
        return timeout;
    }

    /** How long a call on the slow connection waits (the connect timeout). */
    public Duration slowTimeout() {
        return connections.slow().getTimeout();
    }

    public RedisClusterAsyncCommands<String, String> async() {
        return fast;
    }

    /**
     * For start-up and admin writes, off the event loops: a connection of their own, whose calls
     * wait at most the connect timeout (a cold start may take longer than the request path's timeout).
     */
    public RedisClusterCommands<String, String> sync() {
        return connections.slowSync();
    }

    /** The slow connection's asynchronous commands: a start-up batch, pipelined. */
    public RedisClusterAsyncCommands<String, String> slowAsync() {
        return connections.slowAsync();
    }

    /** Whether the last command or ping got an answer. */
    public boolean up() {
        return up;
    }

    /** Runs {@code name}.lua (from this package's resources) with its SHA, loading it when Redis does not know it. */
    public <T> CompletionStage<T> script(String name, ScriptOutputType type, String[] keys, String... args) {
        return script(fast, name, type, keys, args);
    }

    /**
     * {@link #script} on the slow connection: for work off the request path (settlements, replays)
     * that may wait the connect timeout rather than fail after the request path's.
     */
    public <T> CompletionStage<T> scriptOffPath(String name, ScriptOutputType type, String[] keys, String... args) {
        return script(connections.slowAsync(), name, type, keys, args);
    }

    private <T> CompletionStage<T> script(RedisClusterAsyncCommands<String, String> on, String name, ScriptOutputType type, String[] keys,
                                          String... args) {
        String body = body(name);
        CompletableFuture<T> out = new CompletableFuture<>();
        on.<T>evalsha(sha(name), type, keys, args).whenComplete((v, e) -> {
            if (noScript(e)) {
                on.<T>eval(body, type, keys, args).whenComplete((v2, e2) -> settle(out, v2, e2));
            } else {
                settle(out, v, e);
            }
        });
        return out;
    }

    /**
     * {@link #script} for arguments that are not all text (an answer's bytes): {@code args} adds them
     * after the keys, and {@code output} makes each call's output (a second call loads the script
     * when Redis lacks it). Its failures are the caller's alone (a cache store is dropped): they do
     * not count toward the link's state.
     */
    public <T> CompletionStage<T> script(String name, java.util.function.Supplier<CommandOutput<String, String, T>> output, String[] keys,
                                         java.util.function.Consumer<CommandArgs<String, String>> args) {
        CompletableFuture<T> out = new CompletableFuture<>();
        dispatchScript(CommandType.EVALSHA, sha(name), output, keys, args).whenComplete((v, e) -> {
            if (noScript(e)) {
                dispatchScript(CommandType.EVAL, body(name), output, keys, args).whenComplete((v2, e2) -> complete(out, v2, e2));
            } else {
                complete(out, v, e);
            }
        });
        return out;
    }

    private <T> CompletionStage<T> dispatchScript(CommandType type, String script, java.util.function.Supplier<CommandOutput<String, String, T>> output,
                                                  String[] keys, java.util.function.Consumer<CommandArgs<String, String>> args) {
        CommandArgs<String, String> a = new CommandArgs<>(StringCodec.UTF8).add(script).add(keys.length).addKeys(keys);
        args.accept(a);
        return fast.dispatch(type, output.get(), a);
    }

    private static <T> void complete(CompletableFuture<T> out, T value, Throwable error) {
        if (error != null) {
            out.completeExceptionally(error);
        } else {
            out.complete(value);
        }
    }

    /** Redis does not have the script (it restarted, or was flushed): send its text. */
    private static boolean noScript(Throwable e) {
        return e instanceof RedisNoScriptException || e != null && e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT");
    }

    private String body(String name) {
        return scripts.computeIfAbsent(name, RedisLink::readScript);
    }

    private String sha(String name) {
        return shas.computeIfAbsent(name, n -> sha1(body(n)));
    }

    private <T> void settle(CompletableFuture<T> out, T value, Throwable error) {
        if (error != null) {
            failed(error);
            out.completeExceptionally(error);
        } else {
            answered();
            out.complete(value);
        }
    }

    /**
     * Runs the reconnect hooks on the link's timer (a reply thread must never wait for Redis), a
     * moment later (pub/sub's subscriptions are renewed first), after connecting to the node that
     * holds the keys (on a Redis Cluster after a failover, a command would find it not connected).
     */
    private void catchUp() {
        if (!catchUpPending.compareAndSet(false, true)) {
            return; // the link and pub/sub back at once (one Redis server restarted): one catch-up for both
        }
        timer.schedule(() -> {
            catchUpPending.set(false);
            try {
                connections.connectSlotOwner(slot, slowTimeout());
            } catch (RuntimeException e) {
                LOG.debug("cluster: connecting to the slot's owner: {}", e.toString()); // the hooks' own reads report it
            }
            for (Runnable hook : onReconnect) {
                try {
                    hook.run();
                } catch (RuntimeException e) {
                    LOG.error("cluster: a reconnect hook failed", e);
                }
            }
        }, 100, TimeUnit.MILLISECONDS);
    }

    private final java.util.concurrent.atomic.AtomicBoolean catchUpPending = new java.util.concurrent.atomic.AtomicBoolean();

    /** Timeouts in a row that mean Redis is away, not merely slow once. */
    static final int TIMEOUTS_DOWN = 3;
    private final java.util.concurrent.atomic.AtomicInteger timeoutsInARow = new java.util.concurrent.atomic.AtomicInteger();

    /** A command answered: the link is up (again). */
    void answered() {
        timeoutsInARow.set(0);
        if (!up) {
            up = true;
            LOG.warn("cluster: Redis at {} answers again after {} ms", where, System.currentTimeMillis() - downSince);
            catchUp();
        }
    }

    /**
     * A command failed: the link is down until one answers. A timeout alone is a slow answer (the
     * caller's policy applies to that command); {@value #TIMEOUTS_DOWN} in a row, or a ping's, take
     * the link down, so a Redis that is only briefly slow does not make every replica re-read its
     * records when it answers again.
     */
    void failed(Throwable error) {
        lastError = error.getClass().getSimpleName() + ": " + error.getMessage();
        if (error instanceof io.lettuce.core.RedisCommandTimeoutException && timeoutsInARow.incrementAndGet() < TIMEOUTS_DOWN) {
            return;
        }
        down();
    }

    private void down() {
        if (up) {
            up = false;
            downSince = System.currentTimeMillis();
            LOG.error("cluster: Redis at {} does not answer ({})", where, lastError);
        }
    }

    /** Calls {@code listener} with each message on {@code channel} (on a Lettuce thread). */
    public void subscribe(String channel, BiConsumer<String, String> listener) {
        listeners.computeIfAbsent(channel, c -> {
            pubsub.sync().subscribe(c);
            return new CopyOnWriteArrayList<>();
        }).add(listener);
    }

    /**
     * Runs {@code r} on the link's timer each time the link comes back after being down (a pub/sub
     * message may have been missed meanwhile).
     */
    public void onReconnect(Runnable r) {
        onReconnect.add(r);
    }

    /** The link's own timer thread, for periodic work (heartbeats, replays): never an event loop. */
    public ScheduledExecutorService timer() {
        return timer;
    }

    /**
     * Each second: a command on the slot that holds this cluster's keys (on a Redis Cluster, the
     * shard that owns it now; a plain PING would go to whichever node the connection began with),
     * and on a Redis Cluster the connection to that shard opened ahead when a failover moved it.
     */
    private void ping() {
        long start = System.nanoTime();
        fast.exists(key("alive")).whenComplete((pong, e) -> {
            if (e != null) {
                lastError = e.getClass().getSimpleName() + ": " + e.getMessage();
                down(); // the health check itself: no answer within the timeout is down
            } else {
                lastPingMicros = (System.nanoTime() - start) / 1000;
                answered();
            }
        });
        try {
            connections.connectSlotOwner(slot, Duration.ZERO); // after a failover: the new owner, before a command needs it
        } catch (RuntimeException e) {
            LOG.debug("cluster: connecting to the slot's owner: {}", e.toString());
        }
    }

    /** The URI without its password: what logs and {@code /health} may show. */
    static String redacted(String uri) {
        return uri.replaceAll("//[^@/]*@", "//***@");
    }

    /** {@code on_redis_error = fail_open}: when Redis fails, each gateway goes on alone rather than refusing. */
    public boolean failOpen() {
        return failOpen;
    }

    void metrics(io.prometheus.client.CollectorRegistry registry) {
        fallbacks = io.prometheus.client.Counter.build("nemo_cluster_fallbacks_total",
                "Requests served without Redis's answer (fail_open) or refused for want of it (fail_closed), by what was asked")
                .labelNames("what", "policy").register(registry);
    }

    /** Counts one request that {@code what} (limits, cache, ...) served alone, or refused, because Redis did not answer. */
    public void fellBack(String what) {
        io.prometheus.client.Counter c = fallbacks;
        if (c != null) {
            c.labels(what, failOpen ? "fail_open" : "fail_closed").inc();
        }
    }

    /** What {@code /health} says of the link: up with the last ping's round trip, or down with the error. */
    public HealthCheck.Status health() {
        if (up) {
            return new HealthCheck.Status(HealthCheck.State.UP, Map.of("redis", where, "ping_ms", lastPingMicros / 1000.0,
                    "replica", replica, "sharded", sharded()));
        }
        return new HealthCheck.Status(failOpen ? HealthCheck.State.DEGRADED : HealthCheck.State.DOWN, Map.of("redis", where,
                "error", String.valueOf(lastError), "down_for_ms", System.currentTimeMillis() - downSince,
                "policy", failOpen ? "fail_open" : "fail_closed", "replica", replica, "sharded", sharded()));
    }

    private static String sha1(String script) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-1")
                    .digest(script.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String readScript(String name) {
        try (InputStream in = RedisLink.class.getResourceAsStream(name + ".lua")) {
            if (in == null) {
                throw new IllegalStateException("no script " + name + ".lua");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        connections.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
