package io.nemorouter.filters.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLSession;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The S3 exporter without sending: URLs in both styles, keys, objects per hour, the signed request, answers, config checks. */
class S3ExporterTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Instant NOW = Instant.parse("2026-12-02T14:05:00Z");
    static final ExportEnvironment ENV = new ExportEnvironment(null, Clock.fixed(NOW, ZoneOffset.UTC), "gw-1.internal");

    static S3Exporter exporter(String entry) {
        S3Exporter.Factory f = new S3Exporter.Factory();
        Config c = ConfigFactory.parseString(entry).withFallback(f.defaults());
        return (S3Exporter) f.create(c, ENV);
    }

    static final String KEYS = "access_key_id = AKIDEXAMPLE, secret_access_key = \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\"";

    static ExportRecord record(String id, String ts) {
        ObjectNode n = JSON.createObjectNode().put("id", id).put("ts", Instant.parse(ts).toEpochMilli()).put("model", "m");
        try {
            return new ExportRecord(n, JSON.writeValueAsBytes(n));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static List<String> gunzipLines(byte[] body) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(text.endsWith("\n"), "every line ends with a newline");
            return List.of(text.split("\n"));
        }
    }

    @Test
    void virtualHostedStyleIsTheBucketInTheHostOfTheRegionsEndpoint() {
        S3Bucket b = new S3Bucket(URI.create("https://s3.us-east-1.amazonaws.com"), "logs", false);
        assertEquals("https://logs.s3.us-east-1.amazonaws.com/nemo-router/dt%3D2026-12-02/hour%3D14/20261202T1400Z-gw-1-0123.jsonl.gz",
                b.objectUrl("nemo-router/dt=2026-12-02/hour=14/20261202T1400Z-gw-1-0123.jsonl.gz").toString());
        assertEquals("logs.s3.us-east-1.amazonaws.com", S3Bucket.hostHeader(b.objectUrl("k")), "no port for the scheme's own");
        S3Exporter e = exporter("bucket = logs, region = eu-west-3, " + KEYS);
        S3Exporter.S3Object o = e.objects(List.of(record("r1", "2026-12-02T14:01:00Z"))).get(0);
        assertEquals("https://logs.s3.eu-west-3.amazonaws.com/nemo-router/dt%3D2026-12-02/hour%3D14/" + o.key().substring(o.key().lastIndexOf('/') + 1),
                e.url(o).toString(), "by default: AWS, the region's endpoint, virtual-hosted");
    }

    @Test
    void pathStyleIsTheBucketInThePathOfTheEndpoint() {
        S3Bucket minio = new S3Bucket(URI.create("http://127.0.0.1:9000"), "logs", true);
        assertEquals("http://127.0.0.1:9000/logs/a/b%20c.jsonl.gz", minio.objectUrl("a/b c.jsonl.gz").toString());
        assertEquals("127.0.0.1:9000", S3Bucket.hostHeader(minio.objectUrl("k")), "a port that is not the scheme's is part of the host");
        S3Bucket underAPath = new S3Bucket(URI.create("https://store.example.com/s3/"), "My.Logs", true);
        assertEquals("https://store.example.com/s3/My.Logs/k", underAPath.objectUrl("k").toString());
        assertEquals("h", S3Bucket.hostHeader(URI.create("https://h:443/")));
    }

    @Test
    void aBatchIsOneGzippedJsonLinesObjectPerHourUnderAKeyThatSaysItsWindowAndHost() throws IOException {
        S3Exporter e = exporter("bucket = logs, region = us-east-1, " + KEYS);
        List<ExportRecord> batch = List.of(record("a", "2026-12-02T13:59:59.999Z"), record("b", "2026-12-02T14:00:00Z"),
                record("c", "2026-12-02T13:59:58Z"));
        List<S3Exporter.S3Object> objects = e.objects(batch);
        assertEquals(2, objects.size(), "records of 13:xx and of 14:xx apart");
        S3Exporter.S3Object first = objects.get(0);
        assertTrue(first.key().matches("nemo-router/dt=2026-12-02/hour=13/20261202T1300Z-gw-1\\.internal-[0-9a-f]{16}\\.jsonl\\.gz"), first.key());
        assertTrue(objects.get(1).key().startsWith("nemo-router/dt=2026-12-02/hour=14/20261202T1400Z-gw-1.internal-"), objects.get(1).key());
        assertEquals(SigV4.sha256Hex(first.body()), first.sha256());
        assertTrue(first.key().contains("-" + first.sha256().substring(0, 16) + ".jsonl.gz"), "the key ends in the content's hash");
        List<String> lines = gunzipLines(first.body());
        assertEquals(2, lines.size());
        assertEquals("a", JSON.readTree(lines.get(0)).get("id").asText());
        assertEquals("c", JSON.readTree(lines.get(1)).get("id").asText());

        List<S3Exporter.S3Object> again = e.objects(batch);
        assertEquals(first.key(), again.get(0).key(), "a batch sent again goes to the same key: a retry overwrites, never duplicates");
        assertArrayEquals(first.body(), again.get(0).body());
        assertFalse(first.key().equals(e.objects(List.of(record("a", "2026-12-02T13:59:59.999Z"))).get(0).key()),
                "other records, another key");
    }

    @Test
    void theKeysPrefixAndHostAreTheConfiguredOnes() {
        S3ObjectKeys keys = new S3ObjectKeys("", "gw 1/å");
        assertEquals("dt=2026-01-05/hour=00/20260105T0000Z-gw-1--" + "-0123456789abcdef.jsonl.gz" /* "gw 1/å" is "gw-1--" */,
                keys.key(Instant.parse("2026-01-05T00:00:00Z"), "0123456789abcdef0123"));
        S3Exporter e = exporter("bucket = logs, region = us-east-1, prefix = \"team-a/llm/\", " + KEYS);
        assertTrue(e.objects(List.of(record("a", "2026-12-02T09:30:00Z"))).get(0).key().startsWith("team-a/llm/dt=2026-12-02/hour=09/"));
    }

    @Test
    void thePutIsSignedOverTheHostThePathTheBodysHashAndTheSessionToken() {
        S3Exporter e = exporter("bucket = logs, region = us-east-1, session_token = tok3n, " + KEYS);
        S3Exporter.S3Object o = e.objects(List.of(record("a", "2026-12-02T14:01:00Z"))).get(0);
        URI url = new S3Bucket(URI.create("https://s3.us-east-1.amazonaws.com"), "logs", false).objectUrl(o.key());
        HttpRequest r = e.request(url, o);
        assertEquals("PUT", r.method());
        assertEquals(HttpClient.Version.HTTP_1_1, r.version().orElseThrow());
        HttpHeaders h = r.headers();
        assertEquals("gzip", h.firstValue("content-encoding").orElseThrow());
        assertEquals("application/x-ndjson", h.firstValue("content-type").orElseThrow());
        assertEquals(o.sha256(), h.firstValue("x-amz-content-sha256").orElseThrow());
        assertEquals("20261202T140500Z", h.firstValue("x-amz-date").orElseThrow(), "signed at the clock's time");
        assertEquals("tok3n", h.firstValue("x-amz-security-token").orElseThrow());
        assertEquals(o.body().length, r.bodyPublisher().orElseThrow().contentLength());

        Map<String, String> signed = new TreeMap<>();
        for (String name : List.of("content-encoding", "content-type", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token")) {
            signed.put(name, h.firstValue(name).orElseThrow());
        }
        signed.put("host", "logs.s3.us-east-1.amazonaws.com");
        String expected = new SigV4("us-east-1", "s3").authorization(new SigV4.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok3n"),
                "PUT", url.getRawPath(), null, signed, o.sha256());
        assertEquals(expected, h.firstValue("authorization").orElseThrow());
        assertTrue(expected.startsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/s3/aws4_request, "
                + "SignedHeaders=content-encoding;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="), expected);
    }

    @Test
    void s3sAnswersSaySlowDownToRetryAndNameTheirErrorCode() {
        assertEquals(Delivery.Outcome.DELIVERED, S3Exporter.delivery(answer(200, "")).outcome());
        Delivery slow = S3Exporter.delivery(answer(503, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"));
        assertEquals(Delivery.Outcome.RETRY, slow.outcome());
        assertEquals("HTTP 503 SlowDown", slow.detail());
        assertEquals(Delivery.Outcome.RETRY, S3Exporter.delivery(answer(400, "<Error><Code>RequestTimeout</Code></Error>")).outcome(),
                "a stalled upload is tried again");
        Delivery denied = S3Exporter.delivery(answer(403, "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code></Error>"));
        assertEquals(Delivery.Outcome.REFUSED, denied.outcome());
        assertEquals("HTTP 403 SignatureDoesNotMatch", denied.detail());
        assertEquals("HTTP 404", S3Exporter.delivery(answer(404, "not xml")).detail());
    }

    @Test
    void configThatCannotWorkIsRefusedNamingTheKey() {
        assertMessage("bucket:", "region = us-east-1, " + KEYS);
        assertMessage("region:", "bucket = logs, " + KEYS);
        assertMessage("region:", "bucket = logs, region = \"US East\", " + KEYS);
        assertMessage("access_key_id:", "bucket = logs, region = us-east-1, secret_access_key = s");
        assertMessage("secret_access_key:", "bucket = logs, region = us-east-1, access_key_id = a, secret_access_key = \"\"");
        assertMessage("bucket:", "bucket = My_Logs, region = us-east-1, " + KEYS);
        assertMessage("bucket:", "bucket = \"logs.example.com\", region = us-east-1, " + KEYS);
        assertMessage("bucket:", "bucket = \"a/b\", region = us-east-1, path_style = true, " + KEYS);
        assertMessage("endpoint:", "bucket = logs, region = us-east-1, endpoint = \"127.0.0.1:9000\", " + KEYS);
        assertMessage("path_style:", "bucket = logs, region = us-east-1, endpoint = \"http://127.0.0.1:9000\", " + KEYS);
        assertMessage("prefix:", "bucket = logs, region = us-east-1, prefix = \"/logs/\", " + KEYS);
        exporter("bucket = \"logs.example.com\", region = us-east-1, path_style = true, " + KEYS); // fine path-style
        exporter("bucket = My_Logs, region = us-east-1, endpoint = \"http://127.0.0.1:9000\", path_style = true, " + KEYS);
    }

    private static void assertMessage(String start, String entry) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> exporter(entry));
        assertTrue(e.getMessage().startsWith(start), e.getMessage());
    }

    private static HttpResponse<String> answer(int status, String body) {
        return new HttpResponse<>() {
            @Override
            public int statusCode() {
                return status;
            }

            @Override
            public HttpRequest request() {
                return HttpRequest.newBuilder(URI.create("https://logs.s3.us-east-1.amazonaws.com/k")).build();
            }

            @Override
            public Optional<HttpResponse<String>> previousResponse() {
                return Optional.empty();
            }

            @Override
            public HttpHeaders headers() {
                return HttpHeaders.of(Map.of(), (a, b) -> true);
            }

            @Override
            public String body() {
                return body;
            }

            @Override
            public Optional<SSLSession> sslSession() {
                return Optional.empty();
            }

            @Override
            public URI uri() {
                return request().uri();
            }

            @Override
            public HttpClient.Version version() {
                return HttpClient.Version.HTTP_1_1;
            }
        };
    }
}
