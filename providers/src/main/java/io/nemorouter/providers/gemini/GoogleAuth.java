package io.nemorouter.providers.gemini;

import java.util.concurrent.CompletableFuture;

/**
 * How a request to Google says who sends it: the Gemini API's key ({@code x-goog-api-key}), or
 * Vertex AI's OAuth access token ({@code Authorization: Bearer}), which is minted and expires.
 * Both give a header line made by {@code UpstreamRequest.headerLine}.
 */
interface GoogleAuth {
    /** The header line, when one can be had without waiting (called on an event loop: never blocks); else null. */
    byte[] headerNow();

    /**
     * The header line once there is one (a token minted); completes on another thread, or
     * exceptionally with {@link AuthFailure} when none can be had.
     */
    CompletableFuture<byte[]> headerLater();

    /** Why no credentials could be had; {@code refused} when Google answered and said no (a bad key), not when it was unreachable. */
    final class AuthFailure extends RuntimeException {
        final boolean refused;

        AuthFailure(String message, boolean refused) {
            super(message, null, false, false);
            this.refused = refused;
        }
    }

    /** A constant header: an API key, or a static access token. */
    static GoogleAuth constant(byte[] line) {
        CompletableFuture<byte[]> ready = CompletableFuture.completedFuture(line);
        return new GoogleAuth() {
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
}
