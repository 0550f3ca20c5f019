package io.nemorouter.filters.cache;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * The cache writer's work for one stored miss: {@link RingCacheStore#put} of a 600-byte answer
 * under a fresh key, into a ring of the default size (256 MiB, a sparse file in a temporary
 * directory) holding at most the default 20,000 answers, so once full every put also evicts the
 * oldest. In the cache's package to reach the package-private store.
 * {@code java -cp bench/target/nemo-bench.jar org.openjdk.jmh.Main RingStoreBench -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RingStoreBench {
    private Path dir;
    private RingCacheStore store;
    private final byte[] answer = new byte[600];
    private long next;

    @Setup(Level.Trial)
    public void open() throws IOException {
        dir = Files.createTempDirectory("nemo-ring-bench");
        store = RingCacheStore.open(dir, 20_000, 256L << 20);
        Arrays.fill(answer, (byte) 'a');
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        store.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public void put() {
        long n = next++;
        String key = HexFormat.of().toHexDigits(n) + HexFormat.of().toHexDigits(n * 31) + HexFormat.of().toHexDigits(~n) + HexFormat.of().toHexDigits(n ^ 77);
        long now = System.currentTimeMillis();
        store.put(key, new CacheEntry("open", "bench", "openai/bench", now, now + 3_600_000, false, "application/json",
                20, 10, 0, 0.0001, answer));
    }
}
