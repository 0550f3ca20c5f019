package io.nemorouter.filters.export;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code type = s3}: each batch PUT to an S3 bucket (or an S3-compatible store: MinIO, Ceph, R2...) as
 * one object of gzipped JSON Lines, keyed by hour and host ({@link S3ObjectKeys}), signed with AWS
 * Signature V4 ({@link SigV4}). A batch whose records straddle an hour becomes one object per hour, so
 * each {@code dt=/hour=} folder holds exactly its hour's records and a query pruned to it misses none.
 */
public final class S3Exporter implements Exporter {
    static final String CONTENT_TYPE = "application/x-ndjson";
    private static final long HOUR_MILLIS = 3_600_000;
    private static final Pattern ERROR_CODE = Pattern.compile("<Code>([^<]{1,64})</Code>");

    private final ExportEnvironment env;
    private final S3Bucket bucket;
    private final S3ObjectKeys keys;
    private final SigV4 signer;
    private final SigV4.Credentials credentials;
    private final Duration timeout;

    S3Exporter(ExportEnvironment env, S3Bucket bucket, S3ObjectKeys keys, SigV4 signer, SigV4.Credentials credentials, Duration timeout) {
        this.env = env;
        this.bucket = bucket;
        this.keys = keys;
        this.signer = signer;
        this.credentials = credentials;
        this.timeout = timeout;
    }

    /** One object to store. */
    record S3Object(String key, byte[] body, String sha256) {
    }

    /**
     * The objects, one per hour, in order. If one is not stored, the whole batch is sent again later:
     * the objects already stored are then written again under the same keys, not duplicated. (If one
     * is refused, the queue counts the whole batch refused, the rare straddling object's partner too.)
     */
    @Override
    public Delivery send(List<ExportRecord> batch) throws Exception {
        for (S3Object o : objects(batch)) {
            Delivery d = put(o);
            if (d.outcome() != Delivery.Outcome.DELIVERED) {
                return d;
            }
        }
        return Delivery.DELIVERED;
    }

    /** The batch's records grouped by the hour they ended in (UTC; the clock's for a record without a time). */
    List<S3Object> objects(List<ExportRecord> batch) {
        Map<Long, List<ExportRecord>> byHour = new LinkedHashMap<>();
        for (ExportRecord r : batch) {
            long t = r.timeMillis() > 0 ? r.timeMillis() : env.clock().millis();
            byHour.computeIfAbsent(Math.floorDiv(t, HOUR_MILLIS), h -> new ArrayList<>()).add(r);
        }
        List<S3Object> out = new ArrayList<>(byHour.size());
        byHour.forEach((hour, records) -> {
            byte[] body = GzipJsonLines.of(records);
            String sha256 = SigV4.sha256Hex(body);
            out.add(new S3Object(keys.key(Instant.ofEpochMilli(hour * HOUR_MILLIS), sha256), body, sha256));
        });
        return out;
    }

    private Delivery put(S3Object o) throws Exception {
        HttpResponse<String> response = env.http().send(request(url(o), o), HttpResponse.BodyHandlers.ofString());
        return delivery(response);
    }

    URI url(S3Object o) {
        return bucket.objectUrl(o.key());
    }

    /** The signed PUT. Signed anew for each try: S3 refuses a signature more than 15 minutes old. */
    HttpRequest request(URI url, S3Object o) {
        Map<String, String> signed = new TreeMap<>();
        signed.put("content-encoding", "gzip");
        signed.put("content-type", CONTENT_TYPE);
        signed.put("host", S3Bucket.hostHeader(url));
        signed.put("x-amz-content-sha256", o.sha256()); // S3 checks the body against it: no corrupt object is stored
        signed.put("x-amz-date", SigV4.amzDate(env.clock().instant()));
        if (credentials.sessionToken() != null) {
            signed.put("x-amz-security-token", credentials.sessionToken());
        }
        String authorization = signer.authorization(credentials, "PUT", url.getRawPath(), null, signed, o.sha256());
        HttpRequest.Builder r = HttpRequest.newBuilder(url).timeout(timeout)
                // HTTP/1.1: S3 speaks nothing newer, and on http:// (MinIO) the client would otherwise try an h2c upgrade first
                .version(HttpClient.Version.HTTP_1_1)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(o.body()));
        signed.forEach((name, value) -> {
            if (!name.equals("host")) { // the client sets it, from the URL, as hostHeader says
                r.header(name, value);
            }
        });
        return r.header("authorization", authorization).header("user-agent", "nemo-router").build();
    }

    /**
     * The usual reading ({@link Delivery#of}: S3's 503 SlowDown and 500 InternalError are tried
     * again), plus S3's error code in the detail (AccessDenied, NoSuchBucket, SignatureDoesNotMatch,
     * RequestTimeTooSkewed: what an operator needs to fix it), and S3's 400 RequestTimeout (the upload
     * stalled) tried again, as AWS's own clients do.
     */
    static Delivery delivery(HttpResponse<String> response) {
        Delivery d = Delivery.of(response);
        if (d.outcome() == Delivery.Outcome.DELIVERED) {
            return d;
        }
        String body = response.body() == null ? "" : response.body();
        Matcher m = ERROR_CODE.matcher(body.length() > 4096 ? body.substring(0, 4096) : body);
        if (!m.find()) {
            return d;
        }
        String code = m.group(1);
        String detail = d.detail() + " " + code;
        if (code.equals("RequestTimeout")) {
            return Delivery.retry(detail, null);
        }
        return new Delivery(d.outcome(), d.retryAfter(), detail);
    }

    /** Makes S3 exporters. */
    public static final class Factory implements ExporterFactory {
        private static final Pattern REGION = Pattern.compile("[a-z0-9-]{2,32}");
        /** A bucket name that is one DNS label's worth of characters (dots aside), as virtual-hosted style needs. */
        private static final Pattern DNS_BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");

        @Override
        public String type() {
            return "s3";
        }

        @Override
        public Set<String> keys() {
            return Set.of("bucket", "region", "prefix", "endpoint", "path_style", "access_key_id", "secret_access_key", "session_token");
        }

        @Override
        public Set<String> secretKeys() {
            return Set.of("access_key_id", "secret_access_key", "session_token");
        }

        /**
         * Few large objects: S3 bills every PUT, and every object is a file that a query engine must
         * open, so many small ones cost more and read slower. A minute is the longest a record waits
         * (and what a crash could lose: the queue is in memory). 5,000 records of about 1 KB gzip to
         * an object of about a megabyte, longer to upload than a webhook's post: hence the timeout.
         */
        @Override
        public Config defaults() {
            return ConfigFactory.parseString("batch_size = 5000, flush_interval = 60s, timeout = 30s");
        }

        @Override
        public Exporter create(Config entry, ExportEnvironment env) {
            String bucket = required(entry, "bucket", "the bucket's name, e.g. bucket = my-logs");
            String region = required(entry, "region", "the bucket's region, e.g. region = us-east-1 (MinIO: us-east-1 unless set otherwise)");
            if (!REGION.matcher(region).matches()) {
                throw new IllegalArgumentException("region: not a region name: \"" + region + "\"");
            }
            boolean pathStyle = entry.hasPath("path_style") && entry.getBoolean("path_style");
            if (bucket.contains("/")) {
                throw new IllegalArgumentException("bucket: a name, without slashes (put folders in prefix)");
            }
            if (!pathStyle && !DNS_BUCKET.matcher(bucket).matches()) {
                throw new IllegalArgumentException("bucket: \"" + bucket + "\" cannot be a host name (lower-case letters, digits, dots, "
                        + "hyphens); set path_style = true");
            }
            boolean customEndpoint = entry.hasPath("endpoint");
            URI endpoint = HttpUrls.parse(customEndpoint ? entry.getString("endpoint") : "https://s3." + region + ".amazonaws.com",
                    customEndpoint ? "endpoint" : "region");
            if (endpoint.getRawQuery() != null || endpoint.getRawFragment() != null) {
                throw new IllegalArgumentException("endpoint: the store's address alone, e.g. http://127.0.0.1:9000");
            }
            if (!pathStyle && (endpoint.getHost().startsWith("[") || endpoint.getHost().matches("[0-9.]+") || endpoint.getHost().equals("localhost"))) {
                throw new IllegalArgumentException("path_style: an endpoint at an address (" + endpoint.getHost()
                        + ") has no subdomain for the bucket; set path_style = true");
            }
            if (!pathStyle && bucket.contains(".") && endpoint.getScheme().equals("https")) {
                // *.s3.<region>.amazonaws.com covers one label: a.b.s3... fails the TLS check
                throw new IllegalArgumentException("bucket: a name with dots is not reachable virtual-hosted over https; set path_style = true");
            }
            String prefix = entry.hasPath("prefix") ? entry.getString("prefix") : "nemo-router/";
            if (prefix.startsWith("/")) {
                throw new IllegalArgumentException("prefix: a key prefix does not start with a slash, e.g. prefix = \"logs/nemo/\"");
            }
            String accessKeyId = required(entry, "access_key_id", "from the environment, e.g. access_key_id = ${?AWS_ACCESS_KEY_ID}");
            String secret = required(entry, "secret_access_key", "from the environment, e.g. secret_access_key = ${?AWS_SECRET_ACCESS_KEY}");
            String token = entry.hasPath("session_token") && !entry.getString("session_token").isEmpty() ? entry.getString("session_token") : null;
            return new S3Exporter(env, new S3Bucket(endpoint, bucket, pathStyle), new S3ObjectKeys(prefix, env.hostname()),
                    new SigV4(region, "s3"), new SigV4.Credentials(accessKeyId, secret, token), entry.getDuration("timeout"));
        }

        private static String required(Config entry, String key, String hint) {
            String v = entry.hasPath(key) ? entry.getString(key) : "";
            if (v.isEmpty()) {
                throw new IllegalArgumentException(key + ": required for S3: " + hint);
            }
            return v;
        }
    }
}
