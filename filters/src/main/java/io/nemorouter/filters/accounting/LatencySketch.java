package io.nemorouter.filters.accounting;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Arrays;

/**
 * Latencies of one group in one hour, as counts in logarithmic buckets 4% wide (a percentile read
 * from it is within 2% of the true value), from 1 µs to an hour, kept sparse: only the buckets
 * used, sorted, so a cell that saw a few hundred calls holds a few hundred bytes. Merging into a
 * report's dense array costs one add per bucket used.
 *
 * <p>Why not HdrHistogram here: its packed form (the only one small enough for tens of thousands of
 * cells) merged at about 90 µs a cell, so a report over 200 keys and a day took 450 ms; this one
 * merges in well under a microsecond.
 */
final class LatencySketch {
    private static final double BASE = 1.04;
    private static final double INV_LN_BASE = 1 / Math.log(BASE);
    static final int BUCKETS = (int) Math.ceil(Math.log(3_600_000_000.0) * INV_LN_BASE) + 1;

    private short[] index = new short[4];
    private int[] count = new int[4];
    private int used;

    static int bucket(long micros) {
        if (micros <= 1) {
            return 0;
        }
        return Math.min(BUCKETS - 1, (int) (Math.log(micros) * INV_LN_BASE));
    }

    /** The middle (geometric) of a bucket, in microseconds. */
    static double value(int bucket) {
        return Math.pow(BASE, bucket + 0.5);
    }

    void record(long micros) {
        add(bucket(micros), 1);
    }

    void recordBucket(int b) {
        add(b, 1);
    }

    private void add(int b, int n) {
        int at = Arrays.binarySearch(index, 0, used, (short) b);
        if (at >= 0) {
            count[at] += n;
            return;
        }
        at = -at - 1;
        if (used == index.length) {
            index = Arrays.copyOf(index, used * 2);
            count = Arrays.copyOf(count, used * 2);
        }
        System.arraycopy(index, at, index, at + 1, used - at);
        System.arraycopy(count, at, count, at + 1, used - at);
        index[at] = (short) b;
        count[at] = n;
        used++;
    }

    void addFrom(LatencySketch o) {
        for (int i = 0; i < o.used; i++) {
            add(o.index[i], o.count[i]);
        }
    }

    /** Adds these counts to a dense array of {@link #BUCKETS}. */
    void addTo(long[] dense) {
        for (int i = 0; i < used; i++) {
            dense[index[i]] += count[i];
        }
    }

    /** The value (ms) at percentile {@code p} (0-100) of a dense array; 0 when empty. */
    static double percentileMs(long[] dense, double p) {
        long total = 0;
        for (long c : dense) {
            total += c;
        }
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(p / 100.0 * total));
        long seen = 0;
        for (int b = 0; b < dense.length; b++) {
            seen += dense[b];
            if (seen >= rank) {
                return Math.round(value(b)) / 1000.0;
            }
        }
        return Math.round(value(dense.length - 1)) / 1000.0;
    }

    /** The buckets used as {@code bucket:count} separated by spaces (see {@link Cell#encode}). */
    void appendText(StringBuilder b) {
        for (int i = 0; i < used; i++) {
            if (i > 0) {
                b.append(' ');
            }
            b.append(index[i]).append(':').append(count[i]);
        }
    }

    /** Adds the counts {@link #appendText} wrote, read from {@code s} at {@code from}. */
    void addText(String s, int from) {
        int i = from;
        while (i < s.length()) {
            int colon = s.indexOf(':', i);
            int end = s.indexOf(' ', colon);
            end = end < 0 ? s.length() : end;
            int b = Integer.parseInt(s, i, colon, 10);
            int c = Integer.parseInt(s, colon + 1, end, 10);
            if (b < 0 || b >= BUCKETS || c < 0) {
                throw new IllegalArgumentException("a shared latency sketch is damaged: " + s);
            }
            add(b, c);
            i = end + 1;
        }
    }

    void writeTo(DataOutput out) throws IOException {
        out.writeInt(used);
        for (int i = 0; i < used; i++) {
            out.writeShort(index[i]);
            out.writeInt(count[i]);
        }
    }

    static LatencySketch readFrom(DataInput in) throws IOException {
        LatencySketch s = new LatencySketch();
        int n = in.readInt();
        if (n < 0 || n > BUCKETS) {
            throw new IOException("a latency sketch in the rollups is damaged (" + n + " buckets)");
        }
        for (int i = 0; i < n; i++) {
            int b = in.readShort();
            int c = in.readInt();
            if (b < 0 || b >= BUCKETS || c < 0) {
                throw new IOException("a latency sketch in the rollups is damaged");
            }
            s.add(b, c);
        }
        return s;
    }
}
