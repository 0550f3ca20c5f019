package io.nemorouter.filters.keys.store;

import java.util.List;
import java.util.Map;

/**
 * A virtual key as stored: never its secret, only the secret's SHA-256 ({@code hash}, hex), which
 * is also its id in the admin API.
 *
 * @param id        stable across rotations (its spend ledger is {@code key:<id>})
 * @param hash      SHA-256 of the secret, lower-case hex
 * @param prefix    the secret's first characters ({@code sk-nemo-AbCd}), to recognise it in a list
 * @param alias     a name for people ({@code alice-laptop}); may be null
 * @param teamId    the team it belongs to, or null
 * @param models    the model names it may call; empty: all (within its team's and org's lists)
 * @param tags      default capability tags of its requests
 * @param metadata  free-form, returned as given
 * @param expiresAt epoch milliseconds after which it is refused; null: never
 */
public record KeyRecord(String id, String hash, String prefix, String alias, String teamId, List<String> models, Limits limits,
                        List<String> tags, Map<String, Object> metadata, Long expiresAt, boolean blocked,
                        long createdAt, long updatedAt) implements LimitedRecord {

    /** Whether the key has expired by {@code nowMillis} (the gateway's clock). */
    public boolean expired(long nowMillis) {
        return expiresAt != null && nowMillis >= expiresAt;
    }

    /** The hash's first 8 characters (the admin API's token, cut): what names a key where its alias may be missing. */
    public String hashPrefix() {
        return hash.substring(0, 8);
    }

    /** What logs may show of it: the alias and the hash's first 8 characters, never the secret. */
    public String logName() {
        return (alias == null ? "key" : alias) + "/" + hashPrefix();
    }
}
