package io.nemorouter.filters.keys;

import io.nemorouter.core.exchange.Key;
import io.nemorouter.filters.keys.state.Entity;
import io.nemorouter.filters.keys.store.KeyRecord;
import io.nemorouter.filters.keys.store.OrgRecord;
import io.nemorouter.filters.keys.store.TeamRecord;

/**
 * Who sent a request, as auth found it: set on the exchange under {@link #KEY} for the limits,
 * the budget, the request log and the cache to read. A virtual key with its team and
 * organization (each null when it has none), the master key, or nobody (open mode).
 */
public final class Principal {
    public static final Key<Principal> KEY = Key.of("keys.principal");
    public static final Principal MASTER = new Principal(null, null, null, true);
    public static final Principal ANONYMOUS = new Principal(null, null, null, false);

    private final Entity<KeyRecord> key;
    private final Entity<TeamRecord> team;
    private final Entity<OrgRecord> org;
    private final boolean master;

    Principal(Entity<KeyRecord> key, Entity<TeamRecord> team, Entity<OrgRecord> org, boolean master) {
        this.key = key;
        this.team = team;
        this.org = org;
        this.master = master;
    }

    public boolean master() {
        return master;
    }

    /** The virtual key's record, or null for the master key and open mode. */
    public KeyRecord keyRecord() {
        return key == null ? null : key.record();
    }

    public TeamRecord teamRecord() {
        return team == null ? null : team.record();
    }

    public OrgRecord orgRecord() {
        return org == null ? null : org.record();
    }

    Entity<KeyRecord> key() {
        return key;
    }

    Entity<TeamRecord> team() {
        return team;
    }

    Entity<OrgRecord> org() {
        return org;
    }

    /** What a log may say: the key's alias and hash prefix, {@code master} or {@code anonymous}. */
    @Override
    public String toString() {
        return master ? "master" : key == null ? "anonymous" : key.record().logName();
    }
}
