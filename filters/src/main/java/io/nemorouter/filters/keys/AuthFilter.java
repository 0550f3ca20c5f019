package io.nemorouter.filters.keys;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;
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
import java.time.Instant;
import java.util.List;

/**
 * Before routing: finds who sent the request from {@code Authorization: Bearer} or
 * {@code x-api-key}, and refuses what its key, team or organization may not do (401 missing,
 * unknown or expired key; 403 blocked, or a model not on a list). Sets {@link Principal#KEY}.
 * In open mode (no master key) a request without a known key passes as {@link Principal#ANONYMOUS},
 * while one with a known key is still held to that key's limits and budget.
 */
final class AuthFilter implements RequestFilter {
    private final Registry registry;
    /** SHA-256 of the master key, or null in open mode. */
    private final byte[] masterDigest;
    private final Counter failures;

    AuthFilter(Registry registry, byte[] masterDigest, Counter failures) {
        this.registry = registry;
        this.masterDigest = masterDigest;
        this.failures = failures;
    }

    @Override
    public Verdict filter(Exchange exchange) {
        CharSequence secret = PresentedKey.of(exchange);
        if (secret == null) {
            if (masterDigest == null) {
                exchange.set(Principal.KEY, Principal.ANONYMOUS);
                return Verdict.CONTINUE;
            }
            return refuse(exchange, "missing", HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", "missing_api_key",
                    "You didn't provide an API key. Send your virtual key as `Authorization: Bearer sk-nemo-...` "
                            + "(the OpenAI SDKs' api_key) or in `x-api-key`.");
        }
        byte[] digest = Secrets.digest(secret);
        if (masterDigest != null && MessageDigest.isEqual(digest, masterDigest)) {
            exchange.set(Principal.KEY, Principal.MASTER);
            return Verdict.CONTINUE;
        }
        Entity<KeyRecord> key = registry.keyByHash(Secrets.hex(digest));
        if (key == null) {
            if (masterDigest == null) {
                exchange.set(Principal.KEY, Principal.ANONYMOUS);
                return Verdict.CONTINUE;
            }
            return refuse(exchange, "unknown", HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", "invalid_api_key",
                    "Incorrect API key provided: " + Secrets.echoOf(secret)
                            + ". Ask your gateway's admin for a virtual key.");
        }
        KeyRecord k = key.record();
        if (k.expired(registry.clock().millis())) {
            return refuse(exchange, "expired", HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", "key_expired",
                    "This key (" + name(k) + ") expired at " + Instant.ofEpochMilli(k.expiresAt()) + ".");
        }
        Entity<TeamRecord> team = registry.team(k.teamId());
        Entity<OrgRecord> org = team == null ? null : registry.org(team.record().orgId());
        if ((k.teamId() != null && team == null) || (team != null && team.record().orgId() != null && org == null)) {
            // never run a key without the budget and limits of a level it belongs to
            return refuse(exchange, "orphan", HttpResponseStatus.FORBIDDEN, "permission_error", "team_not_found",
                    "This key's team or organization no longer exists; ask your gateway's admin.");
        }
        if (k.blocked()) {
            return refuse(exchange, "blocked", HttpResponseStatus.FORBIDDEN, "permission_error", "key_blocked",
                    "This key (" + name(k) + ") is blocked.");
        }
        if (team != null && team.record().blocked()) {
            return refuse(exchange, "blocked", HttpResponseStatus.FORBIDDEN, "permission_error", "team_blocked",
                    "The team " + team.record().id() + " of this key is blocked.");
        }
        if (org != null && org.record().blocked()) {
            return refuse(exchange, "blocked", HttpResponseStatus.FORBIDDEN, "permission_error", "organization_blocked",
                    "The organization " + org.record().id() + " of this key is blocked.");
        }
        String model = exchange.body().model();
        if (model != null) {
            String level = !allows(k.models(), model) ? "key"
                    : team != null && !allows(team.record().models(), model) ? "team"
                    : org != null && !allows(org.record().models(), model) ? "organization" : null;
            if (level != null) {
                return refuse(exchange, "model", HttpResponseStatus.FORBIDDEN, "permission_error", "model_not_allowed",
                        "This key's " + level + " may not use the model `" + model + "`.");
            }
        }
        exchange.set(Principal.KEY, new Principal(key, team, org, false));
        return Verdict.CONTINUE;
    }

    private static boolean allows(List<String> models, String model) {
        return models == null || models.isEmpty() || models.contains(model);
    }

    private static String name(KeyRecord k) {
        return k.alias() == null ? k.prefix() : k.alias();
    }

    private Verdict refuse(Exchange exchange, String reason, HttpResponseStatus status, String type, String code, String message) {
        failures.labels(reason).inc();
        exchange.respond(new OpenAiError(status, type, code, null, message));
        return Verdict.ANSWERED;
    }
}
