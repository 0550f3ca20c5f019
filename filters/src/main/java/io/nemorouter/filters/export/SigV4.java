package io.nemorouter.filters.export;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * AWS Signature Version 4 for request headers ({@code Authorization: AWS4-HMAC-SHA256 ...}), written
 * out rather than taken from the AWS SDK, whose footprint is far larger than these hundred lines.
 * Checked against AWS's published test suite and the S3 documentation's examples (SigV4Test).
 *
 * <p>Paths follow S3's rules, which is what this signer is for: the path is signed as sent, each
 * segment URI-encoded once ({@link #encodePath}) and never normalized. (Other AWS services encode the
 * path twice and remove {@code .} and {@code ..} segments; nothing here calls them.)
 */
public final class SigV4 {
    public static final String ALGORITHM = "AWS4-HMAC-SHA256";
    /** Hex SHA-256 of an empty body. */
    public static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final HexFormat HEX = HexFormat.of();
    private static final HexFormat UPPER_HEX = HexFormat.of().withUpperCase();

    /** An access key; {@code sessionToken} is null for long-term keys. Its text never shows the secret. */
    public record Credentials(String accessKeyId, String secretAccessKey, String sessionToken) {
        @Override
        public String toString() {
            return "Credentials[" + accessKeyId + (sessionToken == null ? "" : ", with a session token") + "]";
        }
    }

    private final String region;
    private final String service;

    public SigV4(String region, String service) {
        this.region = region;
        this.service = service;
    }

    /**
     * The {@code Authorization} header for a request. Every header given is signed, so give exactly
     * the ones that will be sent as given ({@code host} among them, and {@code x-amz-date}, whose
     * value dates the signature).
     *
     * @param path the path as sent, already encoded ({@link #encodePath})
     * @param query the query as sent (without {@code ?}), or null
     * @param payloadHash hex SHA-256 of the body (what {@code x-amz-content-sha256} says, for S3)
     */
    public String authorization(Credentials credentials, String method, String path, String query,
                                Map<String, String> headers, String payloadHash) {
        Map<String, String> canonical = canonicalHeaders(headers);
        String amzDate = canonical.get("x-amz-date");
        if (amzDate == null || amzDate.length() != 16) {
            throw new IllegalArgumentException("a signed request needs an x-amz-date header like 20150830T123600Z");
        }
        String request = canonicalRequest(method, path, query, canonical, payloadHash);
        String signature = signature(credentials.secretAccessKey(), amzDate, stringToSign(amzDate, request));
        return ALGORITHM + " Credential=" + credentials.accessKeyId() + "/" + scope(amzDate)
                + ", SignedHeaders=" + String.join(";", canonical.keySet()) + ", Signature=" + signature;
    }

    /** Task 1: the request in canonical form. {@code headers} as {@link #canonicalHeaders} makes them. */
    String canonicalRequest(String method, String path, String query, Map<String, String> headers, String payloadHash) {
        StringBuilder b = new StringBuilder(256).append(method).append('\n')
                .append(path.isEmpty() ? "/" : path).append('\n')
                .append(canonicalQuery(query)).append('\n');
        headers.forEach((name, value) -> b.append(name).append(':').append(value).append('\n'));
        return b.append('\n').append(String.join(";", headers.keySet())).append('\n').append(payloadHash).toString();
    }

    /** Task 2: what is signed, naming the algorithm, the time, the scope and the canonical request's hash. */
    String stringToSign(String amzDate, String canonicalRequest) {
        return ALGORITHM + "\n" + amzDate + "\n" + scope(amzDate) + "\n"
                + sha256Hex(canonicalRequest.getBytes(StandardCharsets.UTF_8));
    }

    /** Task 3: HMAC of the string to sign with a key derived for the day, region and service. */
    String signature(String secretAccessKey, String amzDate, String stringToSign) {
        byte[] key = hmac(("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8), amzDate.substring(0, 8));
        key = hmac(key, region);
        key = hmac(key, service);
        key = hmac(key, "aws4_request");
        return HEX.formatHex(hmac(key, stringToSign));
    }

    private String scope(String amzDate) {
        return amzDate.substring(0, 8) + "/" + region + "/" + service + "/aws4_request";
    }

    /**
     * Header names in lower case, sorted; values trimmed with inner runs of spaces made one; names
     * given twice in different cases joined with commas, as repeated headers are.
     */
    static Map<String, String> canonicalHeaders(Map<String, String> headers) {
        Map<String, String> out = new TreeMap<>();
        headers.forEach((name, value) -> out.merge(name.toLowerCase(Locale.ROOT), value.strip().replaceAll(" {2,}", " "),
                (a, b) -> a + "," + b));
        return out;
    }

    /** The query's parameters, each name and value decoded then encoded strictly, sorted by name then value. */
    static String canonicalQuery(String query) {
        if (query == null || query.isEmpty()) {
            return "";
        }
        List<String[]> params = new ArrayList<>();
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            params.add(new String[] {encode(decode(name)), encode(decode(value))});
        }
        params.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
        StringBuilder b = new StringBuilder();
        for (String[] p : params) {
            if (!b.isEmpty()) {
                b.append('&');
            }
            b.append(p[0]).append('=').append(p[1]);
        }
        return b.toString();
    }

    /** A path (or object key) as S3 signs and expects it: each segment {@link #encode}d, the slashes kept. */
    public static String encodePath(String path) {
        StringBuilder b = new StringBuilder(path.length() + 16);
        int start = 0;
        while (true) {
            int slash = path.indexOf('/', start);
            b.append(encode(slash < 0 ? path.substring(start) : path.substring(start, slash)));
            if (slash < 0) {
                return b.toString();
            }
            b.append('/');
            start = slash + 1;
        }
    }

    /** RFC 3986 percent-encoding of UTF-8, as AWS wants it: all but A-Z a-z 0-9 - . _ ~, in upper-case hex. */
    static String encode(String s) {
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
                b.append((char) c);
            } else {
                b.append('%').append(UPPER_HEX.toHexDigits(c));
            }
        }
        return b.toString();
    }

    /** Percent-decoding as AWS reads a query: {@code +} stays a plus (it is not a space here). */
    private static String decode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        byte[] raw = s.getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(raw.length);
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == '%' && i + 2 < raw.length && HexFormat.isHexDigit(raw[i + 1]) && HexFormat.isHexDigit(raw[i + 2])) {
                out.write(Character.digit(raw[i + 1], 16) << 4 | Character.digit(raw[i + 2], 16));
                i += 2;
            } else {
                out.write(raw[i]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** {@code x-amz-date}'s form of a time: {@code 20150830T123600Z}. */
    public static String amzDate(Instant t) {
        return AMZ_DATE.format(t);
    }

    public static String sha256Hex(byte[] data) {
        try {
            return HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JVM has HmacSHA256", e);
        }
    }
}
