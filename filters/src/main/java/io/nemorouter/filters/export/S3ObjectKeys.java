package io.nemorouter.filters.export;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The object keys: {@code <prefix>dt=<yyyy-MM-dd>/hour=<HH>/<yyyyMMdd'T'HH00'Z'>-<host>-<hash>.jsonl.gz},
 * e.g. {@code nemo-router/dt=2026-12-02/hour=14/20261202T1400Z-gw-1-3f9a0c1b2d4e5f60.jsonl.gz}.
 *
 * <ul>
 *   <li>{@code dt=} and {@code hour=} (UTC) are Hive-style partitions, so Athena, Glue, Spark or
 *       DuckDB read a day or an hour without listing the rest;</li>
 *   <li>the file name repeats the hour, so an object still says its window when copied out of its folder;</li>
 *   <li>{@code host} tells gateways apart, so two never write the same key;</li>
 *   <li>{@code hash} is the start of the object's SHA-256: unique for different contents, and the same
 *       for a batch sent again, so a retry after a PUT that did land (the answer was lost) overwrites
 *       that object instead of storing its records twice. (The first record's id would not do: a
 *       client may send its own {@code x-request-id}, twice.)</li>
 * </ul>
 */
final class S3ObjectKeys {
    private static final DateTimeFormatter FOLDERS = DateTimeFormatter.ofPattern("'dt='yyyy-MM-dd'/hour='HH'/'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter WINDOW = DateTimeFormatter.ofPattern("yyyyMMdd'T'HH'00Z'").withZone(ZoneOffset.UTC);
    /** Hex digits of the hash kept: 64 bits, no collision in any bucket's lifetime. */
    private static final int HASH_DIGITS = 16;

    private final String prefix;
    private final String host;

    S3ObjectKeys(String prefix, String hostname) {
        this.prefix = prefix;
        this.host = safe(hostname);
    }

    /** The key of an object holding records of the hour starting at {@code hour}, its content's hex SHA-256 {@code sha256}. */
    String key(Instant hour, String sha256) {
        return prefix + FOLDERS.format(hour) + WINDOW.format(hour) + "-" + host + "-" + sha256.substring(0, HASH_DIGITS) + ".jsonl.gz";
    }

    /** A host name as a key part: letters, digits, dot, hyphen and underscore kept, anything else a hyphen. */
    static String safe(String hostname) {
        String s = hostname == null || hostname.isBlank() ? "localhost" : hostname.replaceAll("[^A-Za-z0-9._-]", "-");
        return s.length() > 64 ? s.substring(0, 64) : s;
    }
}
