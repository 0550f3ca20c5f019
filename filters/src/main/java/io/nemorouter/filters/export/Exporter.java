package io.nemorouter.filters.export;

import java.util.List;

/**
 * Sends batches of request-log records to one destination. Called on the exporter's own thread, one
 * batch at a time (so it may block, within its timeout); queueing, batching, retries with backoff,
 * the memory cap and the flush at shutdown are the gateway's ({@link ExportQueue}).
 */
public interface Exporter extends AutoCloseable {
    /** Sends one batch (never empty); the same batch is sent again after a {@link Delivery.Outcome#RETRY}. */
    Delivery send(List<ExportRecord> batch) throws Exception;

    @Override
    default void close() throws Exception {
    }
}
