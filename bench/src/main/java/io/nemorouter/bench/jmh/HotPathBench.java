package io.nemorouter.bench.jmh;

import io.nemorouter.core.openai.RequestBody;
import io.nemorouter.core.internal.http1.WholeRequest;
import io.nemorouter.core.openai.UsageScanner;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.FullHttpRequest;
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
 * The per-request work the gateway does on the event loop, piece by piece:
 * {@code java -cp bench/target/nemo-bench.jar org.openjdk.jmh.Main HotPathBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class HotPathBench {
    private ByteBuf request;
    private ByteBuf response;
    /** A whole chat request as the official Node SDK sends it, in a buffer from the allocator the server reads into. */
    private ByteBuf sdkRequest;
    private final WholeRequest whole = new WholeRequest(4096, 64 * 1024, 32 << 20);

    @Setup
    public void setup() {
        String req = "{\"model\":\"bench\",\"stream\":false,\"messages\":[{\"role\":\"system\",\"content\":\"You are a concise assistant.\"},"
                + "{\"role\":\"user\",\"content\":\"Summarise the benefits of an LLM gateway in one line.\"}],\"temperature\":0.2}";
        request = Unpooled.directBuffer().writeBytes(req.getBytes(StandardCharsets.UTF_8));
        String resp = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"bench\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"" + "word ".repeat(60) + "\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":31,\"completion_tokens\":60,\"total_tokens\":91}}";
        response = Unpooled.directBuffer().writeBytes(resp.getBytes(StandardCharsets.UTF_8));
        String head = "POST /v1/chat/completions HTTP/1.1\r\n"
                + "accept: application/json\r\n"
                + "content-type: application/json\r\n"
                + "user-agent: OpenAI/JS 4.104.0\r\n"
                + "x-stainless-lang: js\r\n"
                + "x-stainless-package-version: 4.104.0\r\n"
                + "x-stainless-os: Linux\r\n"
                + "x-stainless-arch: x64\r\n"
                + "x-stainless-runtime: node\r\n"
                + "x-stainless-runtime-version: v20.19.2\r\n"
                + "authorization: Bearer sk-nemo-0123456789abcdef0123456789abcdef\r\n"
                + "x-stainless-retry-count: 0\r\n"
                + "x-stainless-timeout: 600\r\n"
                + "content-length: " + req.length() + "\r\n"
                + "accept-encoding: gzip,deflate\r\n"
                + "host: 127.0.0.1:4000\r\n"
                + "connection: keep-alive\r\n\r\n";
        sdkRequest = ByteBufAllocator.DEFAULT.buffer().writeBytes((head + req).getBytes(StandardCharsets.UTF_8));
    }

    @Benchmark
    public Object parseWholeRequest() {
        sdkRequest.retain().readerIndex(0);
        FullHttpRequest r = whole.parse(sdkRequest);
        r.release();
        return r;
    }

    @Benchmark
    public Object parseRequestFields() {
        return RequestBody.read(request);
    }

    @Benchmark
    public Object scanUsage() {
        return UsageScanner.scan(response);
    }

    @Benchmark
    public int rewriteModel() {
        RequestBody f = RequestBody.read(request);
        ByteBuf out = f.render(ByteBufAllocator.DEFAULT, "gpt-4o-mini-2024-07-18", false);
        int n = out.readableBytes();
        out.release();
        return n;
    }
}
