package io.nemorouter.providers.anthropic;

import io.nemorouter.bench.jmh.TranslationFixture;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.RequestBody;
import io.nemorouter.providers.translate.Fidelity;
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
 * What translating to and from Anthropic's Messages API costs, per request and per stream event
 * (issue 15's budget: under 20 µs a request, under 5 µs a chunk, at p50):
 * {@code java -cp bench/target/nemo-bench.jar org.openjdk.jmh.Main AnthropicTranslationBench}.
 * In the provider's package (on the class path, not a module) to reach its package-private parts.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AnthropicTranslationBench {
    private byte[] request;
    private byte[] message;
    private byte[] delta;
    private Exchange exchange;
    private AnthropicTranslator streaming;

    @Setup
    public void setup() {
        request = ("{\"model\":\"claude\",\"temperature\":0.2,\"messages\":[{\"role\":\"system\",\"content\":\"You are a concise assistant.\"},"
                + "{\"role\":\"user\",\"content\":\"Summarise the benefits of an LLM gateway in one line.\"}],"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"parameters\":{\"type\":\"object\","
                + "\"properties\":{\"q\":{\"type\":\"string\"}}}}}]}").getBytes(StandardCharsets.UTF_8);
        message = ("{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\","
                + "\"text\":\"" + "word ".repeat(60) + "\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                + "\"usage\":{\"input_tokens\":31,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":60}}")
                .getBytes(StandardCharsets.UTF_8);
        delta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" gateway\"}}\n\n"
                .getBytes(StandardCharsets.UTF_8);
        exchange = TranslationFixture.exchange(new String(request, StandardCharsets.UTF_8));
        streaming = new AnthropicTranslator(() -> false);
        ByteBuf start = Unpooled.wrappedBuffer(("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\","
                + "\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":31,\"output_tokens\":1}}}\n\n").getBytes(StandardCharsets.UTF_8));
        streaming.event(exchange, start, TranslationFixture.DRAIN);
    }

    /** The request as the provider sends it: the client's body read, as a tree, encoded for Anthropic and written. */
    @Benchmark
    public int request() {
        ByteBuf in = TranslationFixture.buffer(request);
        try {
            RequestBody body = RequestBody.read(in);
            AnthropicRequest encoder = new AnthropicRequest(new Fidelity(true, "Anthropic"));
            byte[] out = io.nemorouter.core.openai.OpenAiJson.MAPPER.writeValueAsBytes(
                    encoder.encode(body.renderJson(null, false), "claude-sonnet-4-5", 64000));
            return out.length;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        } finally {
            in.release();
        }
    }

    /** A whole message translated to a chat.completion. */
    @Benchmark
    public int answer() {
        return TranslationFixture.answer(new AnthropicTranslator(() -> false), exchange, message);
    }

    /** One text delta of a stream translated to one chunk. */
    @Benchmark
    public void chunk() {
        TranslationFixture.event(streaming, exchange, delta);
    }
}
