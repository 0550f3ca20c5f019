package io.nemorouter.filters.export;

import io.nemorouter.filters.accounting.TraceIds;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The OTLP exporter's work on a request's path besides the filter calls themselves
 * ({@link Tracing}): reading the client's {@code traceparent} (or starting a trace), and per
 * attempt a span id and the {@code traceparent} sent upstream. In the exporter's package to reach
 * its package-private parser. {@code java -cp bench/target/nemo-bench.jar org.openjdk.jmh.Main TraceContextBench -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TraceContextBench {
    private final String header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @Benchmark
    public String continuedTrace() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        TraceIds ids = Traceparent.parse(header, r.nextLong() | 1);
        long span = r.nextLong() | 1;
        ids.attemptSpan(1, span);
        return ids.traceparent(span);
    }

    @Benchmark
    public String newTrace() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        TraceIds ids = new TraceIds(r.nextLong(), r.nextLong() | 1, r.nextLong() | 1, 0, 1);
        long span = r.nextLong() | 1;
        ids.attemptSpan(1, span);
        return ids.traceparent(span);
    }
}
