package io.nemorouter.filters.cluster;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.CommandOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.api.async.RedisAsyncCommands;
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
 * <p>Commands that get no answer within {@code timeout} fail (the callers' policy decides what
 * that means: fail open or closed); while the link is down commands fail at once instead of
 * queueing, and Lettuce reconnects on its own. A ping each second keeps the health figure fresh.
 */
public final class RedisLink implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RedisLink.class);

    private final RedisClient client;
    private final ClientResources resources;
    private final StatefulRedisConnection<String, String> connection;
    /** For start-up and the admin thread: the connect timeout rather than the request path's. */
    private final StatefulRedisConnection<String, String> slow;
    private final StatefulRedisPubSubConnection<String, String> pubsub;
    private final String prefix;
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

    private RedisLink(RedisClient client, ClientResources resources, StatefulRedisConnection<String, String> connection,
                      StatefulRedisConnection<String, String> slow,
                      StatefulRedisPubSubConnection<String, String> pubsub, String prefix, Duration timeout, String replica, String where, boolean failOpen) {
        this.failOpen = failOpen;
        this.client = client;
        this.resources = resources;
        this.connection = connection;
        this.slow = slow;
        this.pubsub = pubsub;
        this.prefix = prefix;
        this.timeout = timeout;
        this.replica = replica;
        this.where = where;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nemo-cluster");
            t.setDaemon(true);
            return t;
        });
        pubsub.addListener(new RedisPubSubAdapter<>() {
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
        });
        timer.scheduleWithFixedDelay(this::ping, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * Connects to {@code uri} (anything Lettuce accepts: {@code redis://}, {@code rediss://},
     * password, database, Sentinel), waiting at most {@code connectTimeout}.
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
        RedisURI redisUri = RedisURI.create(uri);
        // the handshake of a new connection (HELLO, class loading on the first) gets the connect timeout; commands get `timeout`
        redisUri.setTimeout(connectTimeout);
        // two I/O threads of its own (Lettuce picks its transport, epoll or NIO, whatever the gateway's loops use);
        // reconnect tries back off from 100 ms to at most 2 s (Lettuce's default climbs to 30 s): back within seconds of Redis
        ClientResources resources = ClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2)
                .reconnectDelay(io.lettuce.core.resource.Delay.exponential(Duration.ofMillis(100), Duration.ofSeconds(2), 2,
                        TimeUnit.MILLISECONDS))
                .build();
        RedisClient client = RedisClient.create(resources, redisUri);
        ClientOptions.Builder options = ClientOptions.builder();
        if (caFile != null) {
            options.sslOptions(io.lettuce.core.SslOptions.builder().jdkSslProvider().trustManager(caFile).build());
        }
        client.setOptions(options
                .autoReconnect(true)
                // while the link is down a command fails at once: the caller's policy applies, nothing piles up
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled()) // each connection's own timeout (below)
                .socketOptions(SocketOptions.builder().connectTimeout(connectTimeout).keepAlive(true).build())
                .build());
        try {
            StatefulRedisConnection<String, String> c = client.connect();
            c.setTimeout(timeout); // the request path's: the policy applies after this
            StatefulRedisConnection<String, String> slow = client.connect();
            slow.setTimeout(connectTimeout); // start-up reads and admin writes may wait longer
            StatefulRedisPubSubConnection<String, String> ps = client.connectPubSub();
            return new RedisLink(client, resources, c, slow, ps, prefix, timeout, replica, redacted(uri), failOpen);
        } catch (RuntimeException e) {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            resources.shutdown(0, 2, TimeUnit.SECONDS);
            throw e;
        }
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
        return slow.getTimeout();
    }

    public RedisAsyncCommands<String, String> async() {
        return connection.async();
    }

    /**
     * For start-up and admin writes, off the event loops: a connection of their own, whose calls
     * wait at most the connect timeout (a cold start may take longer than the request path's timeout).
     */
    public io.lettuce.core.api.sync.RedisCommands<String, String> sync() {
        return slow.sync();
    }

    /** The slow connection's asynchronous commands: a start-up batch, pipelined. */
    public RedisAsyncCommands<String, String> slowAsync() {
        return slow.async();
    }

    /** Whether the last command or ping got an answer. */
    public boolean up() {
        return up;
    }

    /** Runs {@code name}.lua (from this package's resources) with its SHA, loading it when Redis does not know it. */
    public <T> CompletionStage<T> script(String name, ScriptOutputType type, String[] keys, String... args) {
        return script(connection, name, type, keys, args);
    }

    /**
     * {@link #script} on the slow connection: for work off the request path (settlements, replays)
     * that may wait the connect timeout rather than fail after the request path's.
     */
    public <T> CompletionStage<T> scriptOffPath(String name, ScriptOutputType type, String[] keys, String... args) {
        return script(slow, name, type, keys, args);
    }

    private <T> CompletionStage<T> script(StatefulRedisConnection<String, String> on, String name, ScriptOutputType type, String[] keys,
                                          String... args) {
        String body = body(name);
        CompletableFuture<T> out = new CompletableFuture<>();
        on.async().<T>evalsha(sha(name), type, keys, args).whenComplete((v, e) -> {
            if (noScript(e)) {
                on.async().<T>eval(body, type, keys, args).whenComplete((v2, e2) -> settle(out, v2, e2));
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
        return connection.async().dispatch(type, output.get(), a);
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

    /** Timeouts in a row that mean Redis is away, not merely slow once. */
    static final int TIMEOUTS_DOWN = 3;
    private final java.util.concurrent.atomic.AtomicInteger timeoutsInARow = new java.util.concurrent.atomic.AtomicInteger();

    /** A command answered: the link is up (again). */
    void answered() {
        timeoutsInARow.set(0);
        if (!up) {
            up = true;
            LOG.warn("cluster: Redis at {} answers again after {} ms", where, System.currentTimeMillis() - downSince);
            onReconnect.forEach(timer::execute); // on the link's timer: a reply thread must never wait for Redis
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

    private void ping() {
        long start = System.nanoTime();
        connection.async().ping().whenComplete((pong, e) -> {
            if (e != null) {
                lastError = e.getClass().getSimpleName() + ": " + e.getMessage();
                down(); // the health check itself: no answer within the timeout is down
            } else {
                lastPingMicros = (System.nanoTime() - start) / 1000;
                answered();
            }
        });
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
                    "replica", replica));
        }
        return new HealthCheck.Status(failOpen ? HealthCheck.State.DEGRADED : HealthCheck.State.DOWN, Map.of("redis", where,
                "error", String.valueOf(lastError), "down_for_ms", System.currentTimeMillis() - downSince,
                "policy", failOpen ? "fail_open" : "fail_closed", "replica", replica));
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
        pubsub.close();
        connection.close();
        slow.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
