package io.nemorouter.filters.store;

/** The store cannot be opened, read or written; the message names the file. */
public final class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
