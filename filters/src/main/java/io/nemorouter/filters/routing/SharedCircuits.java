package io.nemorouter.filters.routing;

import io.lettuce.core.ScriptOutputType;
import io.nemorouter.filters.cluster.RedisLink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Cluster mode: the deployments' circuits shared between replicas through Redis. When a circuit
 * opens here (failures past {@code allowed_fails}, a {@code Retry-After}, a failed probe) or a
 * probe here closes it, the change goes to every replica by pub/sub and into a hash that outlives
 * the longest cooldown ({@code routing-circuit.lua}: one round trip, the record merged as each
 * replica merges); each replica {@link DeploymentState#learn learns} the others' changes.
 *
 * <p>Nothing on the request path waits: a change is handed to the link's timer thread and sent from
 * there. While Redis is down each replica routes on what it knows, keeps what it could not send,
 * and on reconnect sends that and reads the hash (every {@link #RESYNC_MILLIS} too: a message
 * published while the subscription was being restored is not lost).
 *
 * <p>Only deployments whose id is unique in this replica's catalog are shared (the id is what the
 * replicas agree on); a change about an id this replica does not have is ignored (catalogs may
 * differ during a rolling deploy), and its own messages come back to it and are ignored.
 */
final class SharedCircuits implements DeploymentState.CircuitSink, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SharedCircuits.class);
    /** How often the hash is read besides the messages. */
    static final long RESYNC_MILLIS = 5000;
    /** Kept this much longer than the longest cooldown, for replicas' clocks that run a little behind. */
    private static final long KEEP_SLACK_MILLIS = 5000;

    private final RedisLink link;
    private final Map<String, DeploymentState> byId;
    private final LongSupplier clock;
    private final String hash;
    private final String channel;
    /** The latest change per deployment that Redis did not take, with how long to keep it: sent again when it is back. */
    private final Map<String, String[]> unsent = new ConcurrentHashMap<>();
    private volatile boolean subscribed;
    private volatile boolean closed;
    private final ScheduledFuture<?> resync;

    SharedCircuits(RedisLink link, Collection<DeploymentState> states, LongSupplier clock) {
        this.link = link;
        this.clock = clock;
        this.hash = link.key("routing:circuits");
        this.channel = link.key("routing:circuit-changes");
        Map<String, DeploymentState> ids = new HashMap<>();
        Set<String> twins = new TreeSet<>();
        for (DeploymentState d : states) {
            DeploymentState other = ids.putIfAbsent(d.deployment.id(), d);
            if (other != null && other != d) {
                twins.add(d.deployment.id());
            }
        }
        twins.forEach(ids::remove);
        if (!twins.isEmpty()) {
            LOG.warn("cluster: catalog entries share the ids {}: their cooldowns stay on each replica (give each entry an id of its own to share them)",
                    twins);
        }
        this.byId = Map.copyOf(ids);
        byId.values().forEach(d -> d.sink = this);
        subscribe();
        load();
        link.onReconnect(() -> link.timer().execute(this::resync)); // not on Lettuce's thread, which runs this
        resync = link.timer().scheduleWithFixedDelay(this::resync, RESYNC_MILLIS, RESYNC_MILLIS, TimeUnit.MILLISECONDS);
    }

    // ---- sending -------------------------------------------------------------------------------

    @Override
    public void opened(DeploymentState d, long at, long until) {
        send(d, event(true, until, at, d), until - at);
    }

    @Override
    public void closed(DeploymentState d, long at) {
        send(d, event(false, 0, at, d), 0);
    }

    private String event(boolean open, long until, long at, DeploymentState d) {
        return (open ? "open " : "close ") + until + ' ' + at + ' ' + link.replica() + ' ' + d.deployment.id();
    }

    /** Off the event loop: to the link's timer thread, which sends without waiting for the answer. */
    private void send(DeploymentState d, String event, long cooldownMillis) {
        String id = d.deployment.id();
        if (byId.get(id) != d) {
            return; // an id two entries share: not shared
        }
        long keep = Math.max(cooldownMillis, d.longestCooldownMillis()) + KEEP_SLACK_MILLIS;
        String[] change = {event, Long.toString(keep)};
        try {
            link.timer().execute(() -> write(id, change));
        } catch (RejectedExecutionException e) {
            // the gateway is stopping: the link is closed
        }
    }

    private void write(String id, String[] change) {
        try {
            link.<String>script("routing-circuit", ScriptOutputType.VALUE, new String[]{hash}, id, change[0], channel, change[1])
                    .whenComplete((record, e) -> {
                        if (e == null) {
                            unsent.remove(id, change);
                        } else {
                            keepUnsent(id, change, e);
                        }
                    });
        } catch (RuntimeException e) {
            keepUnsent(id, change, e);
        }
    }

    private void keepUnsent(String id, String[] change, Throwable e) {
        unsent.put(id, change); // the latest per deployment: an older one sent later would lose to it anyway
        LOG.debug("cluster: circuit change {} not shared yet ({})", change[0], e.toString());
    }

    // ---- learning ------------------------------------------------------------------------------

    private void subscribe() {
        try {
            link.subscribe(channel, (ch, message) -> apply(message, true));
            subscribed = true;
        } catch (RuntimeException e) {
            LOG.error("cluster: cannot subscribe to the routing changes yet ({}); trying again every {} ms", e.toString(), RESYNC_MILLIS);
        }
    }

    /** At start: the circuits other replicas opened (waits at most the link's timeout; Redis down: each replica alone). */
    private void load() {
        try {
            link.sync().hgetall(hash).values().forEach(record -> apply(record, false));
        } catch (RuntimeException e) {
            LOG.warn("cluster: the shared circuits could not be read at start ({}); trying again", e.toString());
            link.timer().schedule(this::resync, 200, TimeUnit.MILLISECONDS);
        }
    }

    /** On the timer thread: what Redis did not take is sent again, then the hash is read (its records are merged as messages are). */
    private void resync() {
        if (closed || !link.up()) {
            return;
        }
        try {
            if (!subscribed) {
                subscribe();
            }
            unsent.forEach(this::write);
            link.async().hgetall(hash).whenComplete((records, e) -> {
                if (records != null) {
                    records.values().forEach(record -> apply(record, false));
                }
            });
        } catch (RuntimeException e) {
            LOG.debug("cluster: the shared circuits could not be read ({})", e.toString()); // again at the next resync
        }
    }

    /**
     * One change, from a message or the hash: ignored when it is this replica's own message, about a
     * deployment it does not share, or not a change at all.
     */
    private void apply(String change, boolean message) {
        String[] f = change.split(" ", 5);
        long until;
        long at;
        try {
            if (f.length < 5 || !f[0].equals("open") && !f[0].equals("close")) {
                throw new NumberFormatException();
            }
            until = Long.parseLong(f[1]);
            at = Long.parseLong(f[2]);
        } catch (NumberFormatException e) {
            LOG.warn("cluster: not a circuit change: {}", change);
            return;
        }
        String from = f[3];
        boolean mine = from.equals(link.replica());
        if (message && mine) {
            return; // applied here when it happened
        }
        DeploymentState d = byId.get(f[4]);
        if (d == null) {
            return; // not in this replica's catalog, or not shared
        }
        boolean open = f[0].equals("open");
        if (d.learn(open, until, at, mine ? null : from, clock.getAsLong())) {
            LOG.debug("cluster: deployment {} {} (from replica {})", f[4], open ? "cooling down until " + until : "healthy again", from);
        }
    }

    @Override
    public void close() {
        closed = true;
        resync.cancel(false);
        byId.values().forEach(d -> d.sink = DeploymentState.CircuitSink.NONE);
    }
}
