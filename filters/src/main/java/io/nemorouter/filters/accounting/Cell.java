package io.nemorouter.filters.accounting;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * The sums of one group in one hour (or a report's merge of many): requests, errors, tokens, cost
 * in nano-USD (exact sums), cache hits, and total latency ({@link LatencySketch}: p50/p95/p99
 * within 2%). A report's result cells merge others into a dense latency array.
 */
final class Cell {
    private static final long MAX_MICROS = 3_600_000_000L;

    long requests;
    long errors;
    long inputTokens;
    long outputTokens;
    long cachedTokens;
    long costNanos;
    long cacheHits;
    /** What the cache hits among these calls would have cost, in nano-USD. */
    long savedNanos;
    long estimated;
    final LatencySketch latency = new LatencySketch();
    /** Changed since the cluster share last sent it (see {@link Rollups#track}). */
    boolean unshared;
    /** A report's merge of many cells' latencies (dense); null in a stored cell. */
    private long[] merged;

    /** What one call adds to every cell it counts in, worked out once per call. */
    record Contribution(boolean failed, long inputTokens, long outputTokens, long cachedTokens, long costNanos,
                        boolean cacheHit, long savedNanos, boolean estimated, int latencyBucket) {
        static Contribution of(CallRecord r) {
            return new Contribution(r.failed(), r.inputTokens(), r.outputTokens(), r.cachedTokens(), nanos(r.cost()),
                    "hit".equals(r.cache()), nanos(r.savedCost()), r.usageEstimated(),
                    LatencySketch.bucket(Math.max(1, Math.min(MAX_MICROS, Math.round(r.totalMs() * 1000)))));
        }
    }

    void add(Contribution c) {
        requests++;
        if (c.failed()) {
            errors++;
        }
        inputTokens += c.inputTokens();
        outputTokens += c.outputTokens();
        cachedTokens += c.cachedTokens();
        costNanos += c.costNanos();
        if (c.cacheHit()) {
            cacheHits++;
        }
        savedNanos += c.savedNanos();
        if (c.estimated()) {
            estimated++;
        }
        latency.recordBucket(c.latencyBucket());
    }

    static long nanos(double usd) {
        return Math.round(usd * 1e9);
    }

    /** A report's merge: the latencies into a dense array (for a result cell, merged many times). */
    void merge(Cell o) {
        addCounts(o);
        if (merged == null) {
            merged = new long[LatencySketch.BUCKETS];
            latency.addTo(merged);
        }
        if (o.merged != null) {
            for (int i = 0; i < merged.length; i++) {
                merged[i] += o.merged[i];
            }
        } else {
            o.latency.addTo(merged);
        }
    }

    /** Adds a stored cell's sums to this stored cell (the latencies stay sparse). */
    void add(Cell o) {
        addCounts(o);
        latency.addFrom(o.latency);
    }

    private void addCounts(Cell o) {
        requests += o.requests;
        errors += o.errors;
        inputTokens += o.inputTokens;
        outputTokens += o.outputTokens;
        cachedTokens += o.cachedTokens;
        costNanos += o.costNanos;
        cacheHits += o.cacheHits;
        savedNanos += o.savedNanos;
        estimated += o.estimated;
    }

    double percentileMs(double p) {
        long[] dense = merged;
        if (dense == null) {
            dense = new long[LatencySketch.BUCKETS];
            latency.addTo(dense);
        }
        return LatencySketch.percentileMs(dense, p);
    }

    void writeTo(DataOutput out) throws IOException {
        out.writeLong(requests);
        out.writeLong(errors);
        out.writeLong(inputTokens);
        out.writeLong(outputTokens);
        out.writeLong(cachedTokens);
        out.writeLong(costNanos);
        out.writeLong(cacheHits);
        out.writeLong(savedNanos);
        out.writeLong(estimated);
        latency.writeTo(out);
    }

    /**
     * The sums as text, as the cluster keeps them in Redis: the nine counters, then the latency
     * buckets used ({@code 12,1,...;b:n b:n}). Absolute values: writing one twice changes nothing.
     */
    String encode() {
        StringBuilder b = new StringBuilder(64).append(requests).append(',').append(errors).append(',')
                .append(inputTokens).append(',').append(outputTokens).append(',').append(cachedTokens).append(',')
                .append(costNanos).append(',').append(cacheHits).append(',').append(savedNanos).append(',').append(estimated)
                .append(';');
        latency.appendText(b);
        return b.toString();
    }

    /** Reads {@link #encode}'s text. */
    static Cell decode(String s) {
        int semi = s.indexOf(';');
        String[] n = (semi < 0 ? s : s.substring(0, semi)).split(",");
        if (n.length != 9) {
            throw new IllegalArgumentException("not a spend cell: " + s);
        }
        Cell c = new Cell();
        c.requests = Long.parseLong(n[0]);
        c.errors = Long.parseLong(n[1]);
        c.inputTokens = Long.parseLong(n[2]);
        c.outputTokens = Long.parseLong(n[3]);
        c.cachedTokens = Long.parseLong(n[4]);
        c.costNanos = Long.parseLong(n[5]);
        c.cacheHits = Long.parseLong(n[6]);
        c.savedNanos = Long.parseLong(n[7]);
        c.estimated = Long.parseLong(n[8]);
        if (semi >= 0) {
            c.latency.addText(s, semi + 1);
        }
        return c;
    }

    static Cell readFrom(DataInput in) throws IOException {
        Cell c = new Cell();
        c.requests = in.readLong();
        c.errors = in.readLong();
        c.inputTokens = in.readLong();
        c.outputTokens = in.readLong();
        c.cachedTokens = in.readLong();
        c.costNanos = in.readLong();
        c.cacheHits = in.readLong();
        c.savedNanos = in.readLong();
        c.estimated = in.readLong();
        c.latency.addFrom(LatencySketch.readFrom(in));
        return c;
    }
}
