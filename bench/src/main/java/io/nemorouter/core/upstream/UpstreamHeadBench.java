package io.nemorouter.core.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The upstream request built from a client's usual headers, as every provider does per attempt
 * ({@link UpstreamClient#newRequest}, then {@code finish}), without and with one header an
 * extension set on the exchange (the OTLP exporter's {@code traceparent}): what an extension's
 * upstream header costs in itself. In the core's package (the bench jar puts it beside the
 * core's classes) to reach the package-private builder.
 * {@code java -cp bench/target/nemo-bench.jar org.openjdk.jmh.Main UpstreamHeadBench -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class UpstreamHeadBench {
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private byte[] preamble;
    private HttpHeaders client;
    private byte[] body;
    private final List<Map.Entry<String, String>> none = List.of();
    private final List<Map.Entry<String, String>> traceparent =
            List.of(Map.entry("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));

    @Setup
    public void setup() {
        preamble = UpstreamRequest.preamble(Origin.parse("http://127.0.0.1:19100/v1"), "/chat/completions");
        client = new DefaultHttpHeaders()
                .add("host", "127.0.0.1:4000").add("user-agent", "OpenAI/Python 1.54.0").add("accept", "application/json")
                .add("content-type", "application/json").add("authorization", "Bearer sk-nemo-0123456789abcdef")
                .add("x-stainless-lang", "python").add("x-stainless-package-version", "1.54.0").add("content-length", "180");
        body = ("{\"model\":\"bench\",\"messages\":[{\"role\":\"user\",\"content\":\"Summarise the benefits of an LLM gateway in one "
                + "line.\"}]}").getBytes(StandardCharsets.UTF_8);
    }

    private int build(List<Map.Entry<String, String>> set) {
        ByteBuf b = new UpstreamRequest(preamble, Unpooled.wrappedBuffer(body)).clientHeaders(client, set).finish(alloc);
        int n = b.readableBytes();
        b.release();
        return n;
    }

    @Benchmark
    public int clientHeadersOnly() {
        return build(none);
    }

    @Benchmark
    public int withTraceparent() {
        return build(traceparent);
    }
}
