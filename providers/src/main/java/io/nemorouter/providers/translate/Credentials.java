package io.nemorouter.providers.translate;

import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.AttemptFailure;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;

/**
 * How a request to an upstream says who sends it, as a header line made by
 * {@code UpstreamRequest.headerLine}: a constant key (the Gemini API's {@code x-goog-api-key}), or
 * a token that is minted and expires (Vertex AI's OAuth access token), which a request may have
 * to wait for. {@link #send} does the waiting for a provider, off the event loop.
 */
public interface Credentials {
    /** The header line, when one can be had without waiting (called on an event loop: never blocks); else null. */
    byte[] headerNow();

    /**
     * The header line once there is one (a token minted); completes on another thread, or
     * exceptionally with {@link AuthFailure} when none can be had.
     */
    CompletableFuture<byte[]> headerLater();

    /** Why no credentials could be had; {@code refused} when Google answered and said no (a bad key), not when it was unreachable. */
    final class AuthFailure extends RuntimeException {
        public final boolean refused;

        public AuthFailure(String message, boolean refused) {
            super(message, null, false, false);
            this.refused = refused;
        }
    }

    /** A constant header: an API key, or a static access token. */
    static Credentials constant(byte[] line) {
        CompletableFuture<byte[]> ready = CompletableFuture.completedFuture(line);
        return new Credentials() {
            @Override
            public byte[] headerNow() {
                return line;
            }

            @Override
            public CompletableFuture<byte[]> headerLater() {
                return ready;
            }
        };
    }

    /**
     * Calls {@code dispatch} with the header line on the exchange's event loop: at once when there
     * is one, else when the mint under way ends. A mint that fails fails the attempt retryably
     * ({@code upstream_auth_failed}: 502 when the upstream refused the credentials, 503 when it
     * could not be reached), since another deployment may well have working ones; {@code body} is
     * released when it will not be sent. {@code who} names the deployment for the message.
     */
    static void send(Credentials credentials, Exchange exchange, Attempt attempt, ByteBuf body, String who, Consumer<byte[]> dispatch) {
        byte[] now = credentials.headerNow();
        if (now != null) {
            dispatch.accept(now);
            return;
        }
        credentials.headerLater().whenComplete((line, error) -> {
            try {
                exchange.eventLoop().execute(() -> {
                    if (attempt.abandoned()) {
                        body.release();
                    } else if (error != null) {
                        body.release();
                        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                        boolean refused = cause instanceof AuthFailure f && f.refused;
                        attempt.failed(AttemptFailure.retryable(new OpenAiError(
                                refused ? HttpResponseStatus.BAD_GATEWAY : HttpResponseStatus.SERVICE_UNAVAILABLE, "upstream_error",
                                "upstream_auth_failed", null, "The gateway could not get an access token for " + who + ": " + cause.getMessage())));
                    } else {
                        dispatch.accept(line);
                    }
                });
            } catch (RejectedExecutionException e) {
                body.release(); // the gateway is shutting down
            }
        });
    }
}
