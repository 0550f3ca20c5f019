package io.nemorouter.filters.cache;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.util.concurrent.FastThreadLocal;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The cache key of a request: SHA-256 over its scope (the tenant whose answers it may read), the
 * endpoint, the model name and the canonical form of every body member that can change the
 * answer. Canonical: object members sorted by name, no whitespace, numbers by value
 * ({@code 0.70}, {@code 0.7} and {@code 7e-1} are one number), strings as JSON escapes them. The
 * members that cannot change the answer ({@link #IGNORED}) are left out, so one client's
 * {@code metadata} or {@code stream} does not split the cache.
 */
final class CacheKey {
    /** Top-level members that do not change the answer. {@code model} is keyed on its own. */
    static final Set<String> IGNORED = Set.of("model", "metadata", "tags", "user", "stream", "stream_options", "nemo_cache");
    private static final String VERSION = "nemo-cache-v1";
    private static final FastThreadLocal<MessageDigest> SHA256 = new FastThreadLocal<>() {
        @Override
        protected MessageDigest initialValue() throws NoSuchAlgorithmException {
            return MessageDigest.getInstance("SHA-256");
        }
    };
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private CacheKey() {
    }

    /** A request whose key cannot be told from another's (a number past double's range): it is not cached. */
    static final class Uncacheable extends RuntimeException {
        Uncacheable() {
            super(null, null, false, false);
        }
    }

    /** The key (64 hex digits) of a request whose body is {@code body} (an object). */
    static String of(String scope, String endpoint, String model, JsonNode body) {
        StringBuilder canonical = new StringBuilder(256);
        canonical.append(VERSION).append('\n').append(scope).append('\n').append(endpoint).append('\n')
                .append(model).append('\n');
        List<String> names = new ArrayList<>();
        body.fieldNames().forEachRemaining(n -> {
            if (!IGNORED.contains(n)) {
                names.add(n);
            }
        });
        names.sort(null);
        canonical.append('{');
        for (int i = 0; i < names.size(); i++) {
            if (i > 0) {
                canonical.append(',');
            }
            string(canonical, names.get(i));
            canonical.append(':');
            write(canonical, body.get(names.get(i)));
        }
        canonical.append('}');
        MessageDigest sha = SHA256.get();
        sha.reset();
        byte[] d = sha.digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
        char[] hex = new char[d.length * 2];
        for (int i = 0; i < d.length; i++) {
            hex[2 * i] = HEX[(d[i] >> 4) & 0xf];
            hex[2 * i + 1] = HEX[d[i] & 0xf];
        }
        return new String(hex);
    }

    /** The canonical text of {@code v} (package-visible for tests). */
    static void write(StringBuilder out, JsonNode v) {
        switch (v.getNodeType()) {
            case OBJECT -> {
                List<String> names = new ArrayList<>(v.size());
                for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
                    names.add(it.next());
                }
                names.sort(null);
                out.append('{');
                for (int i = 0; i < names.size(); i++) {
                    if (i > 0) {
                        out.append(',');
                    }
                    string(out, names.get(i));
                    out.append(':');
                    write(out, v.get(names.get(i)));
                }
                out.append('}');
            }
            case ARRAY -> {
                out.append('[');
                for (int i = 0; i < v.size(); i++) {
                    if (i > 0) {
                        out.append(',');
                    }
                    write(out, v.get(i));
                }
                out.append(']');
            }
            case NUMBER -> out.append(number(v));
            case STRING -> string(out, v.textValue());
            case BOOLEAN -> out.append(v.booleanValue());
            default -> out.append("null");
        }
    }

    /** A number by its value: 1, 1.0 and 1e0 are all {@code 1}; scientific form keeps huge exponents short. */
    private static String number(JsonNode v) {
        if ((v.isDouble() || v.isFloat()) && !Double.isFinite(v.doubleValue())) {
            throw new Uncacheable(); // past double's range: its digits are gone, so two such numbers cannot be told apart
        }
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return Long.toString(v.longValue());
        }
        BigDecimal d = v.decimalValue().stripTrailingZeros();
        if (d.signum() == 0) {
            return "0";
        }
        if (d.scale() <= 0 && d.precision() - d.scale() <= 18) {
            return Long.toString(d.longValueExact());
        }
        return d.toString();
    }

    /** A string as JSON writes it, every control character escaped the same way. */
    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                out.append(c).append(s.charAt(++i)); // a pair: one character, as UTF-8 writes it
            } else if (c < 0x20 || Character.isSurrogate(c)) {
                // a lone surrogate has no UTF-8 form (it would become '?', the same as a '?'): escaped, it stays itself
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
    }
}
