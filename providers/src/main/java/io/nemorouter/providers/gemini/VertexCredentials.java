package io.nemorouter.providers.gemini;

import io.nemorouter.providers.translate.Credentials;

import java.nio.file.Path;
import java.time.Clock;

/**
 * Vertex AI's access tokens for a service account, for providers outside this package: an
 * {@code openai} entry with {@code auth = vertex} (Vertex's OpenAI-compatible endpoint) signs its
 * requests as a {@code vertex} entry does.
 */
public final class VertexCredentials {
    private VertexCredentials() {
    }

    /**
     * Tokens minted with the key in {@code keyFile} (read now), refreshed ahead of expiry off the
     * event loops.
     *
     * @throws IllegalArgumentException when the file cannot be read or is not a service account's key
     */
    public static Credentials serviceAccount(Path keyFile, Clock clock) {
        return new ServiceAccountTokens(ServiceAccountKey.read(keyFile), clock);
    }
}
