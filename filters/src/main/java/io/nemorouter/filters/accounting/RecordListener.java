package io.nemorouter.filters.accounting;

/**
 * Gets every request-log record as it is written: the exporters read the same records as the log.
 * Published by an extension that starts before the log ({@code ExtensionContext.publish}); called on
 * the log's writer thread, never an event loop, so it must only hand the record on (a queue offer).
 */
public interface RecordListener {
    /** One record: its JSON line as in the log file, without the newline. The array is the listener's to keep. */
    void onRecord(byte[] json);
}
