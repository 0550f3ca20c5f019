package io.nemorouter.filters.keys.store;

/** What keys, teams and organizations share: an id, an alias and the limits of their ledger. */
public interface LimitedRecord {
    String id();

    /** Its alias, or null. */
    String alias();

    /** Its limits, or null for none. */
    Limits limits();
}
