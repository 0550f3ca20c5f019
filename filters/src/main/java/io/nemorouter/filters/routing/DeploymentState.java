package io.nemorouter.filters.routing;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.AttemptRecord;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the router knows of one deployment, shared by every event loop: requests in flight, recent
 * latency, failures and cooldown (its circuit), and its provider quota this minute. Reads on the
 * choosing path are plain volatile reads; updates are atomics, never a lock.
 *
 * <p>The circuit: {@code allowed_fails} failures within {@code failure_window} open it for
 * {@code cooldown_time}; a 429 or 503 with a {@code Retry-After} opens it for that long at once.
 * When the time is up one request (the probe) may go; its success closes the circuit, its failure
 * opens it again.
 *
 * <p>In cluster mode the circuit is also shared ({@link SharedCircuits}): what opens or closes it
 * here is sent to the other replicas, and what they send is {@link #learn learned}. Every change
 * carries the epoch-ms time it happened, so that the latest one wins wherever it is applied.
 */
final class DeploymentState {
    /** In the order of the {@code nemo_deployment_state} metric: 0, 1, 2. */
    enum State { HEALTHY, HALF_OPEN, COOLING_DOWN }

    /** A latency figure older than this is not trusted: the deployment is tried again to refresh it. */
    static final long STALE_MILLIS = 30_000;
    /** The weight of a new half-second's mean latency in the running average. */
    private static final double EWMA_ALPHA = 0.3;

    final Deployment deployment;
    final int weight;
    final long rpm;
    final long tpm;
    final int maxParallel;
    /** Input plus output USD per million tokens, for the cost strategy. */
    final double price;
    /** Its capability tags as a mask over the router's tag vocabulary. */
    final long tags;
    private final GroupSettings settings;

    private final AtomicInteger inFlight = new AtomicInteger();
    private final Recorder latencies = new Recorder(TimeUnit.MINUTES.toMicros(30), 2);
    private Histogram interval;
    private volatile double latencyEwmaMillis;
    private volatile long lastSampleMillis;
    /** When a request was last sent to find out its latency. */
    private final AtomicLong lastExploreMillis = new AtomicLong(Long.MIN_VALUE / 2);
    private static final long EXPLORE_EVERY_MILLIS = 1000;

    /** The times of its last {@code allowed_fails} failures (0: none), a ring; guarded by this. */
    private final long[] failTimes;
    private int failNext;
    /** Until when it is out (0: it is not); past it, one probe may go. Read without a lock, written under this. */
    private volatile long cooldownUntil;
    /** When (epoch ms) the circuit last opened or closed, here or on the replica it was learned from; guarded by this. */
    private long changedAt;
    /** The cooldown the other replicas are known to have (sent or learned); guarded by this. */
    private long sharedUntil;
    /** The replica the circuit's current state was learned from, or null: it came about here. */
    private volatile String learnedFrom;
    /** Where circuit changes made here go: nowhere, or to the other replicas in cluster mode. */
    volatile CircuitSink sink = CircuitSink.NONE;
    /** The request (its {@link RouteState}) that holds the half-open probe, or null. */
    private final AtomicReference<Object> probe = new AtomicReference<>();

    private final AtomicLong quotaMinute = new AtomicLong();
    private final AtomicLong minuteRequests = new AtomicLong();
    private final AtomicLong minuteTokens = new AtomicLong();

    /**
     * Whether failures put it out: only when a request has somewhere else to go (another member of
     * its group, or a fallback group). A lone deployment is never cooled down: that would only turn
     * its upstream's errors into the gateway's 503s.
     */
    boolean coolable = true;

    final LongAdder requests = new LongAdder();
    final LongAdder failures = new LongAdder();

    DeploymentState(Deployment deployment, int weight, long rpm, long tpm, int maxParallel, long tags, GroupSettings settings) {
        this.deployment = deployment;
        this.weight = weight;
        this.rpm = rpm;
        this.tpm = tpm;
        this.maxParallel = maxParallel;
        // an unpriced deployment is not free: the cost strategy takes it last
        this.price = deployment.pricing().known() ? deployment.pricing().input() + deployment.pricing().output() : Double.MAX_VALUE;
        this.tags = tags;
        this.settings = settings;
        this.failTimes = new long[settings.allowedFails()];
    }

    int inFlight() {
        return inFlight.get();
    }

    double latencyEwmaMillis() {
        return latencyEwmaMillis;
    }

    /**
     * Whether to send it this request to find out its latency: it has no figure from the last
     * {@link #STALE_MILLIS}, and no other request was sent to find out in the last second (a slow
     * deployment must not take every request until its first answer is folded in).
     */
    boolean explore(long nowMillis) {
        if (nowMillis - lastSampleMillis <= STALE_MILLIS) {
            return false;
        }
        long last = lastExploreMillis.get();
        return nowMillis - last >= EXPLORE_EVERY_MILLIS && lastExploreMillis.compareAndSet(last, nowMillis);
    }

    // ---- may it take a request ---------------------------------------------------------------

    /** Whether it may take a request now: not cooling down (or free to probe), under its quota and its parallel limit. */
    boolean available(long nowMillis) {
        if (maxParallel > 0 && inFlight.get() >= maxParallel) {
            return false;
        }
        if ((rpm > 0 || tpm > 0) && quotaResetMillis(nowMillis) > 0) {
            return false;
        }
        long until = cooldownUntil;
        return until == 0 || nowMillis >= until && probe.get() == null;
    }

    /**
     * Claims it for the request {@code owner}: a deployment whose cooldown is over takes one probe at
     * a time. False when another request has just taken the probe.
     */
    boolean claim(Object owner, long nowMillis) {
        long until = cooldownUntil;
        if (until == 0 || nowMillis < until) {
            return until == 0;
        }
        return probe.get() == owner || probe.compareAndSet(null, owner);
    }

    /** Whether {@code owner} holds the half-open probe. */
    boolean probing(Object owner) {
        return owner != null && probe.get() == owner;
    }

    /** Gives back the probe {@code owner} claimed and did not use (its request ended first). */
    void releaseProbe(Object owner) {
        probe.compareAndSet(owner, null);
    }

    /** Whether it is at its {@code max_parallel}. */
    boolean full() {
        return maxParallel > 0 && inFlight.get() >= maxParallel;
    }

    /** Milliseconds until its quota resets when it is at its RPM or TPM this minute, else 0. */
    long quotaResetMillis(long nowMillis) {
        long minute = nowMillis / 60_000;
        if (quotaMinute.get() != minute) {
            return 0;
        }
        boolean full = rpm > 0 && minuteRequests.get() >= rpm || tpm > 0 && minuteTokens.get() >= tpm;
        return full ? (minute + 1) * 60_000 - nowMillis : 0;
    }

    /** The longest it may be out: its group's {@code cooldown_time} or {@code max_retry_after}. */
    long longestCooldownMillis() {
        return Math.max(settings.cooldownMillis(), settings.maxRetryAfterMillis());
    }

    /** Milliseconds until its cooldown ends, or 0. */
    long cooldownMillis(long nowMillis) {
        long until = cooldownUntil;
        return until == 0 ? 0 : Math.max(0, until - nowMillis);
    }

    State state(long nowMillis) {
        long until = cooldownUntil;
        return until == 0 ? State.HEALTHY : nowMillis < until ? State.COOLING_DOWN : State.HALF_OPEN;
    }

    // ---- what happened -----------------------------------------------------------------------

    void started(long nowMillis) {
        inFlight.incrementAndGet();
        requests.increment();
        if (rpm > 0 || tpm > 0) {
            rollMinute(nowMillis);
            minuteRequests.incrementAndGet();
        }
    }

    /** Tokens an answer used, against its TPM quota. */
    void tokens(long count, long nowMillis) {
        if (tpm > 0) {
            rollMinute(nowMillis);
            minuteTokens.addAndGet(count);
        }
    }

    private void rollMinute(long nowMillis) {
        long minute = nowMillis / 60_000;
        long current = quotaMinute.get();
        if (current != minute && quotaMinute.compareAndSet(current, minute)) {
            minuteRequests.set(0);
            minuteTokens.set(0);
        }
    }

    /** An attempt on it ended: its latency on success, its failure against the circuit otherwise. */
    void ended(Object owner, AttemptRecord a, boolean stream, long nowMillis) {
        inFlight.decrementAndGet();
        boolean probing = probing(owner);
        int status = a.upstreamStatus();
        boolean failed = switch (a.outcome()) {
            case FAILED_BEFORE_HEAD, FAILED_AFTER_HEAD -> true;
            case ANSWERED -> status == 429 || status >= 500;
            default -> false; // cancelled or abandoned: says nothing of the deployment
        };
        boolean succeeded = a.outcome() == AttemptRecord.Outcome.ANSWERED && !failed;
        if (failed) {
            failures.increment();
            failed(a, status, probing, nowMillis);
        } else if (succeeded) {
            long end = stream && a.firstByteNanos() != 0 ? a.firstByteNanos() : a.endedNanos();
            long start = a.sentNanos() != 0 ? a.sentNanos() : a.startedNanos();
            latencies.recordValue(Math.max(0, TimeUnit.NANOSECONDS.toMicros(end - start)));
            long until = cooldownUntil;
            if (probing || until != 0 && nowMillis >= until) {
                closeHere(nowMillis); // the probe came back well: closed
            }
        }
        if (probing) {
            probe.compareAndSet(owner, null);
        }
    }

    private void failed(AttemptRecord a, int status, boolean probing, long nowMillis) {
        if (!coolable) {
            return;
        }
        long hint = a.retryAfterMillis();
        if (hint > 0 && (status == 429 || status == 503)) {
            // the upstream said how long; a shorter hint from another request does not cut a longer cooldown
            openHere(nowMillis, nowMillis + Math.min(hint, settings.maxRetryAfterMillis()));
            return;
        }
        if (probing) {
            openHere(nowMillis, nowMillis + settings.cooldownMillis()); // the probe failed: out again
            return;
        }
        if (recentFailures(nowMillis) >= settings.allowedFails()) {
            openHere(nowMillis, nowMillis + settings.cooldownMillis());
        }
    }

    // ---- the circuit, here and shared ----------------------------------------------------------

    /** A cooldown this much longer than the one the other replicas have is sent again; a shorter lengthening is not. */
    static final long RESEND_MILLIS = 1000;

    /**
     * Opens the circuit until {@code until} (never cutting a longer cooldown short) on what happened
     * here; the other replicas are told when it is new or at least {@link #RESEND_MILLIS} longer
     * than what they have.
     */
    private void openHere(long nowMillis, long until) {
        synchronized (this) {
            changedAt = Math.max(changedAt, nowMillis);
            if (until <= cooldownUntil) {
                return;
            }
            cooldownUntil = until;
            learnedFrom = null;
            if (until < sharedUntil + RESEND_MILLIS) {
                return;
            }
            sharedUntil = until;
        }
        sink.opened(this, nowMillis, until);
    }

    /** Closes the circuit on a probe's success here, and tells the other replicas. */
    private void closeHere(long nowMillis) {
        synchronized (this) {
            if (cooldownUntil == 0) {
                return; // another answer closed it first
            }
            cooldownUntil = 0;
            changedAt = Math.max(changedAt, nowMillis);
            sharedUntil = 0;
            learnedFrom = null;
        }
        sink.closed(this, nowMillis);
    }

    /**
     * Applies a change of the circuit that replica {@code from} made at {@code at} (epoch ms on its
     * clock): {@code open} until {@code until}, or closed. The latest change wins: an opening older
     * than a close here, or a close older than an opening here, is ignored; an opening never cuts a
     * longer cooldown short, and one already over says nothing. A deployment that may not cool down
     * here (it has nowhere else to go in this replica's catalog) does not learn openings.
     *
     * <p>Replicas' clocks are compared as they are: with NTP they agree within milliseconds, and a
     * skew only decides which of two changes made within it wins, never whether the cluster
     * converges (every replica applies the same rule to the same changes).
     *
     * @return whether the circuit changed here
     */
    synchronized boolean learn(boolean open, long until, long at, String from, long nowMillis) {
        if (open) {
            if (!coolable || until <= nowMillis || cooldownUntil == 0 && changedAt > at) {
                return false;
            }
            changedAt = Math.max(changedAt, at);
            sharedUntil = Math.max(sharedUntil, until);
            if (until <= cooldownUntil) {
                return false;
            }
            cooldownUntil = until;
        } else {
            if (cooldownUntil == 0 || changedAt > at) {
                return false;
            }
            cooldownUntil = 0;
            changedAt = at;
            sharedUntil = 0;
        }
        learnedFrom = from;
        return true;
    }

    /** The replica the circuit's current state was learned from, or null when it came about here. */
    String learnedFrom() {
        return learnedFrom;
    }

    /** Where the circuit changes made here are sent. */
    interface CircuitSink {
        CircuitSink NONE = new CircuitSink() {
            @Override
            public void opened(DeploymentState d, long at, long until) {
            }

            @Override
            public void closed(DeploymentState d, long at) {
            }
        };

        /** It opened (or lengthened) at {@code at} until {@code until}; called on an event loop: must not wait. */
        void opened(DeploymentState d, long at, long until);

        /** Its probe succeeded at {@code at}; called on an event loop: must not wait. */
        void closed(DeploymentState d, long at);
    }

    /**
     * Notes a failure at {@code nowMillis}; the failures within the last {@code failure_window}
     * (a sliding window over the last {@code allowed_fails} of them), this one included.
     */
    private synchronized int recentFailures(long nowMillis) {
        failTimes[failNext] = nowMillis;
        failNext = (failNext + 1) % failTimes.length;
        int n = 0;
        for (long t : failTimes) {
            if (t != 0 && nowMillis - t <= settings.failureWindowMillis()) {
                n++;
            }
        }
        if (n >= failTimes.length) {
            java.util.Arrays.fill(failTimes, 0); // out now: counting starts afresh when it is back
        }
        return n;
    }

    /** Folds the latencies recorded since the last call into the running average (one thread: the router's ticker). */
    void foldLatencies(long nowMillis) {
        interval = latencies.getIntervalHistogram(interval);
        if (interval.getTotalCount() == 0) {
            return;
        }
        double mean = interval.getMean() / 1000.0;
        double old = latencyEwmaMillis;
        latencyEwmaMillis = old == 0 ? mean : EWMA_ALPHA * mean + (1 - EWMA_ALPHA) * old;
        lastSampleMillis = nowMillis;
    }
}
