package io.nemorouter.filters.keys;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.filters.keys.admin.PresentedKey;
import io.nemorouter.filters.keys.state.Entity;
import io.nemorouter.filters.keys.state.Registry;
import io.nemorouter.filters.keys.store.KeyRecord;
import io.nemorouter.filters.keys.store.OrgRecord;
import io.nemorouter.filters.keys.store.Secrets;
import io.nemorouter.filters.keys.store.TeamRecord;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.prometheus.client.Counter;

import java.security.MessageDigest;

/**
 * Who may read records of calls (the spend analytics routes): the master key reads everything, a
 * virtual key (known, not expired; a blocked one too, to see why) reads its own. Published by the
 * keys extension as a {@link Readers} service; sets {@link Principal#KEY} on the exchange it admits.
 */
final class ReaderAuth implements Readers {
    private final Registry registry;
    private final byte[] masterDigest;
    private final Counter failures;

    ReaderAuth(Registry registry, byte[] masterDigest, Counter failures) {
        this.registry = registry;
        this.masterDigest = masterDigest;
        this.failures = failures;
    }

    @Override
    public OpenAiError admit(Exchange ex) {
        if (masterDigest == null) {
            return new OpenAiError(HttpResponseStatus.FORBIDDEN, "permission_error", "admin_api_disabled", null,
                    "This admin route (" + ex.path() + ") is off because the gateway has no master key. Set NEMO_MASTER_KEY (or "
                            + "nemo.keys.master_key) and restart; then the master key reads everything and a virtual key its own records.");
        }
        CharSequence presented = PresentedKey.of(ex);
        if (presented == null) {
            failures.labels("reader_missing").inc();
            return new OpenAiError(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", "missing_api_key", null,
                    "Send the master key, or a virtual key to read its own records, as `Authorization: Bearer ...`.");
        }
        byte[] digest = Secrets.digest(presented);
        if (MessageDigest.isEqual(digest, masterDigest)) {
            ex.set(Principal.KEY, Principal.MASTER);
            return null;
        }
        Entity<KeyRecord> key = registry.keyByHash(Secrets.hex(digest));
        if (key == null || key.record().expired(registry.clock().millis())) {
            failures.labels("reader_unknown").inc();
            return new OpenAiError(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", "invalid_api_key", null,
                    "Incorrect API key provided: " + Secrets.echoOf(presented) + ".");
        }
        Entity<TeamRecord> team = registry.team(key.record().teamId());
        Entity<OrgRecord> org = team == null ? null : registry.org(team.record().orgId());
        ex.set(Principal.KEY, new Principal(key, team, org, false));
        return null;
    }

    @Override
    public OpenAiError admitMaster(Exchange ex) {
        OpenAiError refused = admit(ex);
        if (refused != null) {
            return refused;
        }
        Principal p = ex.get(Principal.KEY);
        if (p != null && p.master()) {
            return null;
        }
        failures.labels("admin_not_master").inc();
        return new OpenAiError(HttpResponseStatus.FORBIDDEN, "permission_error", "master_key_required", null,
                "This admin route needs the master key; the key sent is not it.");
    }
}
