package io.nemorouter.providers.mock;

import com.typesafe.config.Config;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.time.Duration;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The faults a mock entry injects, from its {@code mock { ... }} block, so failover and load
 * balancing can be watched without a provider key: the error answers a real upstream sends
 * (a 503, a 429 with {@code Retry-After}), a latency that varies, a stream whose connection breaks.
 * Each is decided per request, at random; the content of an answer stays deterministic. The
 * in-gateway {@link MockProvider} injects them; the standalone {@link MockUpstreamServer} (the
 * benchmarks' upstream) answers without.
 *
 * @param errorRate       the fraction of requests answered with an error instead (0 to 1)
 * @param errorStatus     the status of those errors (400 to 599)
 * @param errorRetryAfter the {@code Retry-After} those errors carry; null for none
 * @param latencyJitter   up to this much latency on top of {@code latency}, uniformly at random
 * @param failAfterChunks a stream breaks off after this many content chunks; 0 for never
 */
public record MockFaults(double errorRate, int errorStatus, Duration errorRetryAfter, Duration latencyJitter,
                         int failAfterChunks) {
    public static final MockFaults NONE = new MockFaults(0, 503, null, Duration.ZERO, 0);

    /** The keys of a {@code mock} block this reads. */
    static final List<String> KEYS = List.of("latency_jitter", "error_rate", "error_status", "error_retry_after",
            "fail_after_chunks");

    /** Reads the fault keys of a {@code mock} block; {@code chunks} is the entry's, which bounds {@code fail_after_chunks}. */
    static MockFaults from(Config c, String where, int chunks) {
        double rate = c.hasPath("error_rate") ? c.getDouble("error_rate") : NONE.errorRate;
        if (!(rate >= 0 && rate <= 1)) { // also NaN
            throw ConfigError.at(c.getValue("error_rate").origin(), where + ".mock.error_rate", "must be between 0.0 and 1.0");
        }
        int status = c.hasPath("error_status") ? c.getInt("error_status") : NONE.errorStatus;
        if (status < 400 || status > 599) {
            throw ConfigError.at(c.getValue("error_status").origin(), where + ".mock.error_status",
                    "must be an error status, between 400 and 599");
        }
        Duration retryAfter = c.hasPath("error_retry_after") ? MockSettings.duration(c, "error_retry_after", where) : null;
        Duration jitter = c.hasPath("latency_jitter") ? MockSettings.duration(c, "latency_jitter", where) : NONE.latencyJitter;
        int failAfter = c.hasPath("fail_after_chunks") ? c.getInt("fail_after_chunks") : NONE.failAfterChunks;
        if (failAfter < 0) {
            throw ConfigError.at(c.getValue("fail_after_chunks").origin(), where + ".mock.fail_after_chunks",
                    "must be 0 (never) or more");
        }
        if (failAfter > chunks) {
            // an answer has at most `chunks` content chunks: the break would never come
            throw ConfigError.at(c.getValue("fail_after_chunks").origin(), where + ".mock.fail_after_chunks",
                    "must be at most chunks (" + chunks + "), or no stream ever breaks");
        }
        return new MockFaults(rate, status, retryAfter, jitter, failAfter);
    }

    /** Whether this request is answered with the error instead of its answer: a draw per request. */
    boolean errs(RandomGenerator random) {
        return errorRate > 0 && random.nextDouble() < errorRate;
    }

    /** This request's latency: {@code latency} plus a uniformly random extra of up to {@code latencyJitter}. */
    long latencyNanos(Duration latency, RandomGenerator random) {
        long jitter = latencyJitter.toNanos();
        return latency.toNanos() + (jitter > 0 ? random.nextLong(jitter + 1) : 0);
    }

    /** Whether a stream with {@code contentChunks} content chunks breaks off (a shorter one ends before the break). */
    boolean breaks(int contentChunks) {
        return failAfterChunks > 0 && failAfterChunks <= contentChunks;
    }

    /**
     * The error answer, as an OpenAI server sends it: its envelope and types ({@code rate_limit_error}
     * for 429, {@code server_error} for 5xx, {@code invalid_request_error} for another 4xx) and the
     * {@code Retry-After} in whole seconds, rounded up, so clients and the gateway read it as a real one.
     */
    FullHttpResponse errorAnswer(ByteBufAllocator alloc, String model) {
        String injected = " (injected by mock.error_rate = " + errorRate + ")";
        OpenAiError error;
        if (errorStatus == 429) {
            error = new OpenAiError(HttpResponseStatus.TOO_MANY_REQUESTS, "rate_limit_error", "rate_limit_exceeded", null,
                    "Rate limit reached for " + model + injected + ".");
        } else if (errorStatus >= 500) {
            error = new OpenAiError(HttpResponseStatus.valueOf(errorStatus), "server_error", "mock_fault", null,
                    "The server had an error while processing your request" + injected + ".");
        } else {
            error = new OpenAiError(HttpResponseStatus.valueOf(errorStatus), "invalid_request_error", "mock_fault", null,
                    "The request was refused with " + errorStatus + injected + ".");
        }
        FullHttpResponse r = error.toResponse(alloc);
        if (errorRetryAfter != null) {
            long seconds = errorRetryAfter.getSeconds() + (errorRetryAfter.getNano() > 0 ? 1 : 0); // the header has whole seconds
            r.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(seconds));
        }
        return r;
    }

    /**
     * Why a stream broke off: what the gateway reports for an upstream whose connection ends
     * mid-answer, so the client sees the same error event as for a real one.
     */
    OpenAiError brokenStream() {
        return OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_disconnected",
                "The upstream connection ended before the answer was complete (injected by mock.fail_after_chunks = "
                        + failAfterChunks + ").");
    }
}
