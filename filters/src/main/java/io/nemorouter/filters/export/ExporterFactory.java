package io.nemorouter.filters.export;

import com.typesafe.config.Config;

import java.util.Set;

/**
 * Makes exporters of one {@code type} from entries of {@code nemo.exporters}. Found through
 * {@link java.util.ServiceLoader}: list the class in
 * {@code META-INF/services/io.nemorouter.filters.export.ExporterFactory}.
 */
public interface ExporterFactory {
    /** The entry's {@code type}: {@code webhook}, {@code datadog}. */
    String type();

    /** The entry keys this type reads, besides the common ones (type, name, batching, retries, redaction). */
    Set<String> keys();

    /**
     * This type's own defaults for the common keys, over {@code nemo.export.defaults} and under the
     * entry's: an object store wants few large batches ({@code batch_size}, {@code flush_interval}).
     */
    default Config defaults() {
        return com.typesafe.config.ConfigFactory.empty();
    }

    /**
     * The entry keys that hold secrets: they must come from the environment ({@code ${?ENV_VAR}}),
     * never the file; for an object-valued key, each of its members.
     */
    default Set<String> secretKeys() {
        return Set.of();
    }

    /**
     * Whether this type sends traces, so requests need a W3C trace context: when an entry of such a
     * type is configured, each request gets trace and span ids (the client's {@code traceparent}
     * continued), the upstream call gets a {@code traceparent} of its own, and the record carries the
     * ids ({@code trace_id}, {@code span_id}, {@code parent_span_id}, each attempt's {@code span_id}).
     */
    default boolean traces() {
        return false;
    }

    /**
     * An exporter for {@code entry} (the whole entry, common keys included). Throw
     * {@link IllegalArgumentException} with a message naming the key for a value it cannot use.
     */
    Exporter create(Config entry, ExportEnvironment env) throws Exception;
}
