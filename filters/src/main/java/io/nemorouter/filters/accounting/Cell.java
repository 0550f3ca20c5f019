package io.nemorouter.filters.accounting;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.PackedHistogram;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;

/**
 * The sums of one group in one hour (or a report's merge of many): requests, errors, tokens, cost
 * in nano-USD (exact sums), cache hits, and total latency as a packed HdrHistogram in microseconds
 * (small while sparse, 2 significant digits: p50/p95/p99 within 1%).
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
    long estimated;
    final Histogram latency = new PackedHistogram(1, MAX_MICROS, 2);

    void add(CallRecord r) {
        requests++;
        if (r.failed()) {
            errors++;
        }
        inputTokens += r.inputTokens();
        outputTokens += r.outputTokens();
        cachedTokens += r.cachedTokens();
        costNanos += nanos(r.cost());
        if ("hit".equals(r.cache())) {
            cacheHits++;
        }
        if (r.usageEstimated()) {
            estimated++;
        }
        latency.recordValue(Math.max(1, Math.min(MAX_MICROS, Math.round(r.totalMs() * 1000))));
    }

    static long nanos(double usd) {
        return Math.round(usd * 1e9);
    }

    void merge(Cell o) {
        requests += o.requests;
        errors += o.errors;
        inputTokens += o.inputTokens;
        outputTokens += o.outputTokens;
        cachedTokens += o.cachedTokens;
        costNanos += o.costNanos;
        cacheHits += o.cacheHits;
        estimated += o.estimated;
        latency.add(o.latency);
    }

    double percentileMs(double p) {
        return latency.getTotalCount() == 0 ? 0 : latency.getValueAtPercentile(p) / 1000.0;
    }

    void writeTo(DataOutput out) throws IOException {
        out.writeLong(requests);
        out.writeLong(errors);
        out.writeLong(inputTokens);
        out.writeLong(outputTokens);
        out.writeLong(cachedTokens);
        out.writeLong(costNanos);
        out.writeLong(cacheHits);
        out.writeLong(estimated);
        ByteBuffer b = ByteBuffer.allocate(latency.getNeededByteBufferCapacity());
        int n = latency.encodeIntoCompressedByteBuffer(b);
        out.writeInt(n);
        out.write(b.array(), 0, n);
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
        c.estimated = in.readLong();
        byte[] h = new byte[in.readInt()];
        in.readFully(h);
        try {
            c.latency.add(Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(h), 1));
        } catch (DataFormatException e) {
            throw new IOException("a latency histogram in the rollups is damaged", e);
        }
        return c;
    }
}
