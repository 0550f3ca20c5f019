package io.nemorouter.providers.responses;

import io.nemorouter.bench.jmh.TranslationFixture;
import io.nemorouter.core.exchange.Exchange;
import io.netty.buffer.ByteBuf;
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
 * What the Responses API's bridge to chat completions costs on top of a provider's translation:
 * the request as chat, a chat answer as a response, one chunk as one Responses event:
 * {@code java -cp bench/target/nemo-bench.jar org.openjdk.jmh.Main ResponsesBridgeBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ResponsesBridgeBench {
    private final ResponsesBridge bridge = new ResponsesBridge();
    private byte[] answer;
    private byte[] chunk;
    private Exchange exchange;
    private ResponsesTranslator streaming;

    @Setup
    public void setup() {
        byte[] request = ("{\"model\":\"claude\",\"instructions\":\"You are a concise assistant.\",\"input\":[{\"role\":\"user\",\"content\":"
                + "[{\"type\":\"input_text\",\"text\":\"Summarise the benefits of an LLM gateway in one line.\"}]}],\"max_output_tokens\":300}")
                .getBytes(StandardCharsets.UTF_8);
        answer = ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"claude\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"" + "word ".repeat(60) + "\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":31,\"completion_tokens\":60,\"total_tokens\":91}}").getBytes(StandardCharsets.UTF_8);
        chunk = ("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"claude\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"content\":\" gateway\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n").getBytes(StandardCharsets.UTF_8);
        exchange = TranslationFixture.exchange(new String(request, StandardCharsets.UTF_8));
        streaming = new ResponsesTranslator(exchange);
        chunk(); // the stream's first chunk (response.created, the message item) is behind it
    }

    @Benchmark
    public int request() {
        ByteBuf out = bridge.request(exchange);
        return out.readableBytes();
    }

    @Benchmark
    public int answer() {
        return TranslationFixture.answer(new ResponsesTranslator(exchange), exchange, answer);
    }

    @Benchmark
    public void chunk() {
        TranslationFixture.event(streaming, exchange, chunk);
    }
}
