package io.nemorouter.filters.export;

import com.typesafe.config.Config;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * {@code type = webhook}: each batch POSTed to {@code url} as {@code {"records":[...]}} (budget
 * alerts as {@code {"alerts":[...]}}). With
 * {@code hmac_secret}, it is signed: {@code X-Nemo-Timestamp} (Unix seconds) and
 * {@code X-Nemo-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">}, so a receiver can check
 * both the sender and that the body is fresh (reject old timestamps to stop replays).
 */
public final class WebhookExporter implements Exporter {
    private final ExportEnvironment env;
    /** What the batch's array is called: {@code records} (the request log's) or {@code alerts} (budget alerts). */
    private final String member;
    private final URI url;
    private final byte[] secret;
    private final Duration timeout;

    WebhookExporter(ExportEnvironment env, String member, URI url, byte[] secret, Duration timeout) {
        this.env = env;
        this.member = member;
        this.url = url;
        this.secret = secret;
        this.timeout = timeout;
    }

    @Override
    public Delivery send(List<ExportRecord> batch) throws Exception {
        byte[] body =  JsonArrayBody.of("{\"" + member + "\":", batch.stream().map(ExportRecord::bytes).toList(), "}");
        HttpRequest.Builder r = HttpRequest.newBuilder(url).timeout(timeout)
                .header("content-type", "application/json")
                .header("user-agent", "nemo-router")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (secret != null) {
            String ts = Long.toString(env.clock().millis() / 1000);
            r.header("x-nemo-timestamp", ts).header("x-nemo-signature", "v1=" + sign(secret, ts, body));
        }
        return Delivery.of(env.http().send(r.build(), HttpResponse.BodyHandlers.discarding()));
    }

    /** Hex HMAC-SHA256 of {@code "<timestamp>.<body>"}. */
    static String sign(byte[] secret, String timestamp, byte[] body) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        mac.update(timestamp.getBytes(StandardCharsets.US_ASCII));
        mac.update((byte) '.');
        return HexFormat.of().formatHex(mac.doFinal(body));
    }

    /** Makes webhook exporters. */
    public static final class Factory implements ExporterFactory {
        @Override
        public String type() {
            return "webhook";
        }

        @Override
        public Set<String> keys() {
            return Set.of("url", "hmac_secret");
        }

        @Override
        public Set<String> secretKeys() {
            return Set.of("hmac_secret");
        }

        @Override
        public Exporter create(Config entry, ExportEnvironment env) {
            return of(entry, env, "records");
        }

        /** A webhook whose batches are {@code {"<member>": [...]}}. */
        static WebhookExporter of(Config entry, ExportEnvironment env, String member) {
            if (!entry.hasPath("url")) {
                throw new IllegalArgumentException("url: required for a webhook");
            }
            URI url = HttpUrls.parse(entry.getString("url"), "url");
            String secret = entry.hasPath("hmac_secret") ? entry.getString("hmac_secret") : "";
            return new WebhookExporter(env, member, url, secret.isEmpty() ? null : secret.getBytes(StandardCharsets.UTF_8),
                    entry.getDuration("timeout"));
        }
    }
}
