package io.nemorouter.providers.gemini;

import io.nemorouter.bench.jmh.TranslationFixture;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.RequestBody;
import io.nemorouter.providers.translate.Fidelity;
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
 * What translating to and from the Gemini API costs, per request and per stream event (issue 15's
 * budget: under 20 µs a request, under 5 µs a chunk, at p50):
 * {@code java -cp bench/target/nemo-bench.jar org.openjdk.jmh.Main GeminiTranslationBench}.
 * In the provider's package (on the class path) to reach its package-private parts.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class GeminiTranslationBench {
    private byte[] request;
    private byte[] answer;
    private byte[] event;
    private Exchange exchange;
    private GeminiTranslator streaming;

    @Setup
    public void setup() {
        request = ("{\"model\":\"gemini\",\"temperature\":0.2,\"messages\":[{\"role\":\"system\",\"content\":\"You are a concise assistant.\"},"
                + "{\"role\":\"user\",\"content\":\"Summarise the benefits of an LLM gateway in one line.\"}],"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"parameters\":{\"type\":\"object\","
                + "\"properties\":{\"q\":{\"type\":\"string\"}}}}}]}").getBytes(StandardCharsets.UTF_8);
        answer = ("{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"" + "word ".repeat(60) + "\"}]},"
                + "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":31,\"candidatesTokenCount\":60,"
                + "\"totalTokenCount\":91},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}").getBytes(StandardCharsets.UTF_8);
        event = ("data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\" gateway\"}]},\"index\":0}],"
                + "\"usageMetadata\":{\"promptTokenCount\":31,\"totalTokenCount\":31},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}\r\n\r\n")
                .getBytes(StandardCharsets.UTF_8);
        exchange = TranslationFixture.exchange(new String(request, StandardCharsets.UTF_8));
        streaming = new GeminiTranslator("Gemini");
        chunk(); // the stream's first event (its role chunk) is behind it
    }

    /** The request as the provider sends it: the client's body read, as a tree, encoded for Gemini and written. */
    @Benchmark
    public int request() throws Exception {
        ByteBuf in = TranslationFixture.buffer(request);
        try {
            RequestBody body = RequestBody.read(in);
            return io.nemorouter.core.openai.OpenAiJson.MAPPER.writeValueAsBytes(
                    new GeminiRequest(new Fidelity(true, "Gemini")).encode(body.renderJson(null, false))).length;
        } finally {
            in.release();
        }
    }

    /** A whole generateContent answer translated to a chat.completion. */
    @Benchmark
    public int answer() {
        return TranslationFixture.answer(new GeminiTranslator("Gemini"), exchange, answer);
    }

    /** One streamed GenerateContentResponse translated to one chunk. */
    @Benchmark
    public void chunk() {
        TranslationFixture.event(streaming, exchange, event);
    }
}
