package io.nemorouter.filters.cache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The cache key of a miss, hot: {@link CacheKey#of} on the body {@code bench/ab.sh}'s load sends
 * with {@code BENCH_UNIQUE=1} (two messages, a {@code seed}; 230 bytes), and on a longer RAG-like
 * body (a 4 KB context in the user message). In the cache's package to reach the package-private
 * key. {@code java -cp bench/target/nemo-bench.jar org.openjdk.jmh.Main CacheKeyBench -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CacheKeyBench {
    private static final int BODIES = 1024;
    private final ByteBuf[] small = new ByteBuf[BODIES];
    private final ByteBuf[] large = new ByteBuf[BODIES];
    private int next;

    @Setup
    public void bodies() {
        String context = "Context: " + "The gateway keeps one virtual key per seat and answers exact repeats from its cache. ".repeat(48);
        for (int i = 0; i < BODIES; i++) {
            small[i] = body("{\"model\":\"bench\",\"stream\":false,\"messages\":[{\"role\":\"system\",\"content\":\"You are a concise assistant.\"},"
                    + "{\"role\":\"user\",\"content\":\"Summarise the benefits of an LLM gateway in one line.\"}],\"seed\":" + (1_000_000_000L + i) + "}");
            large[i] = body("{\"model\":\"bench\",\"temperature\":0.2,\"messages\":[{\"role\":\"system\",\"content\":\"Answer from the context only.\"},"
                    + "{\"role\":\"user\",\"content\":\"" + context + "\\nQuestion " + i + ": what does the cache answer?\"}]}");
        }
    }

    private static ByteBuf body(String json) {
        return Unpooled.wrappedBuffer(json.getBytes(StandardCharsets.UTF_8));
    }

    @Benchmark
    public String smallBody() {
        return CacheKey.of("open", "/v1/chat/completions", "bench", small[next++ & (BODIES - 1)]);
    }

    @Benchmark
    public String largeBody() {
        return CacheKey.of("open", "/v1/chat/completions", "bench", large[next++ & (BODIES - 1)]);
    }
}
