package io.nemorouter.providers.gemini;

import io.nemorouter.providers.translate.Credentials;
import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.core.upstream.UpstreamRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Vertex AI's access tokens for one service account, minted with its key: a JWT signed RS256
 * ({@code iss} the account, {@code scope} cloud-platform, {@code aud} the token endpoint, an hour
 * long) exchanged at {@code token_uri} for an OAuth token (RFC 7523's jwt-bearer grant). The
 * signing and the exchange run on one daemon thread of their own, with {@link HttpClient}'s
 * asynchronous send, never on an event loop. The token is kept and refreshed ahead of its expiry in
 * the background, one mint at a time, while requests go on using the one they have; a request that
 * finds no usable token waits for the mint under way ({@link #headerLater}).
 *
 * <p>When: a token is refreshed once less than 5 minutes or a tenth of its life is left (whichever
 * comes first, but never in its first half, so a short-lived token is still used), and is no longer
 * sent once less than 30 seconds or a tenth of its life is left (it could expire on the way).
 */
final class ServiceAccountTokens implements Credentials {
    private static final Logger LOG = LoggerFactory.getLogger(ServiceAccountTokens.class);
    static final String SCOPE = "https://www.googleapis.com/auth/cloud-platform";
    private static final long LIFETIME_SECONDS = 3600;
    private static final long REFRESH_AHEAD_MILLIS = Duration.ofMinutes(5).toMillis();
    private static final long SEND_MARGIN_MILLIS = Duration.ofSeconds(30).toMillis();

    /** The one thread every account's signing and token exchanges run on: a few a hour, none on an event loop. */
    private static final class Shared {
        static final ExecutorService THREAD = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "nemo-vertex-tokens");
            t.setDaemon(true);
            return t;
        });
        static final HttpClient HTTP = HttpClient.newBuilder().executor(THREAD).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A minted token and when to renew and stop using it (the clock's milliseconds). */
    private record Token(byte[] header, long refreshAt, long usableUntil) {
    }

    private final ServiceAccountKey key;
    private final Clock clock;
    private volatile Token current;
    /** The mint under way, or null; guarded by {@code this}. */
    private CompletableFuture<Token> pending;

    ServiceAccountTokens(ServiceAccountKey key, Clock clock) {
        this.key = key;
        this.clock = clock;
    }

    @Override
    public byte[] headerNow() {
        Token t = current;
        long now = clock.millis();
        if (t == null || now >= t.usableUntil()) {
            return null;
        }
        if (now >= t.refreshAt()) {
            mint(); // in the background: this request goes with the token it has
        }
        return t.header();
    }

    @Override
    public CompletableFuture<byte[]> headerLater() {
        Token t = current;
        if (t != null && clock.millis() < t.usableUntil()) {
            return CompletableFuture.completedFuture(t.header()); // minted since headerNow() looked
        }
        return mint().thenApply(Token::header);
    }

    /** The mint under way, or a new one. */
    private synchronized CompletableFuture<Token> mint() {
        if (pending != null) {
            return pending;
        }
        CompletableFuture<Token> mint = CompletableFuture.supplyAsync(this::assertion, Shared.THREAD)
                .thenCompose(jwt -> Shared.HTTP.sendAsync(tokenRequest(jwt), HttpResponse.BodyHandlers.ofString()))
                .thenApply(this::token)
                .handle((token, error) -> {
                    if (error != null) {
                        AuthFailure f = describe(error);
                        LOG.warn("could not mint a Vertex AI access token for {}: {}", key.clientEmail(), f.getMessage());
                        throw f;
                    }
                    current = token; // before the mint is over: a request that finds none pending finds this
                    return token;
                });
        pending = mint;
        mint.whenComplete((token, error) -> {
            synchronized (this) {
                if (pending == mint) {
                    pending = null;
                }
            }
        });
        return mint;
    }

    /** The signed JWT that asks for a token. */
    String assertion() {
        long now = clock.millis() / 1000;
        String header = base64Url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
        var claims = OpenAiJson.MAPPER.createObjectNode().put("iss", key.clientEmail()).put("scope", SCOPE)
                .put("aud", key.tokenUri()).put("iat", now).put("exp", now + LIFETIME_SECONDS);
        String signed = header + "." + base64Url(claims.toString());
        try {
            Signature rsa = Signature.getInstance("SHA256withRSA");
            rsa.initSign(key.privateKey());
            rsa.update(signed.getBytes(StandardCharsets.US_ASCII));
            return signed + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(rsa.sign());
        } catch (GeneralSecurityException e) {
            throw new AuthFailure("cannot sign with the service account's key: " + e.getMessage(), true);
        }
    }

    private HttpRequest tokenRequest(String jwt) {
        String form = "grant_type=" + URLEncoder.encode("urn:ietf:params:oauth:grant-type:jwt-bearer", StandardCharsets.UTF_8)
                + "&assertion=" + URLEncoder.encode(jwt, StandardCharsets.UTF_8);
        return HttpRequest.newBuilder(URI.create(key.tokenUri())).timeout(Duration.ofSeconds(30))
                .header("content-type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build();
    }

    private Token token(HttpResponse<String> answer) {
        JsonNode json;
        try {
            json = OpenAiJson.MAPPER.readTree(answer.body());
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            json = OpenAiJson.MAPPER.createObjectNode();
        }
        String token = json.path("access_token").asText(null);
        if (answer.statusCode() / 100 != 2 || token == null) {
            String why = json.path("error").asText("status " + answer.statusCode())
                    + (json.has("error_description") ? ": " + json.get("error_description").asText() : "");
            throw new AuthFailure("the token endpoint " + key.tokenUri() + " refused the service account "
                    + key.clientEmail() + " (" + why + ")", answer.statusCode() / 100 == 4);
        }
        long life = Math.max(1, json.path("expires_in").asLong(LIFETIME_SECONDS)) * 1000;
        long now = clock.millis();
        long ahead = Math.min(Math.max(REFRESH_AHEAD_MILLIS, life / 10), life / 2);
        long margin = Math.min(SEND_MARGIN_MILLIS, life / 10);
        try {
            return new Token(UpstreamRequest.headerLine("authorization", "Bearer " + token), now + life - ahead, now + life - margin);
        } catch (IllegalArgumentException e) {
            throw new AuthFailure("the token endpoint " + key.tokenUri() + " gave a token that is not header text", false);
        }
    }

    /** The failure as this class words it: an {@link AuthFailure}, whatever went wrong on the way. */
    private AuthFailure describe(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof AuthFailure f) {
            return f;
        }
        return new AuthFailure("cannot reach the token endpoint " + key.tokenUri() + ": "
                + (cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName()), false);
    }

    private static String base64Url(String json) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
    }
}
