package io.nemorouter.filters.keys.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.RouteAuth;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.filters.keys.state.Budget;
import io.nemorouter.filters.keys.state.Entity;
import io.nemorouter.filters.keys.state.Registry;
import io.nemorouter.filters.keys.store.KeyRecord;
import io.nemorouter.filters.keys.store.LimitedRecord;
import io.nemorouter.filters.keys.store.Limits;
import io.nemorouter.filters.keys.store.OrgRecord;
import io.nemorouter.filters.keys.store.Secrets;
import io.nemorouter.filters.store.StoreException;
import io.nemorouter.filters.keys.store.TeamRecord;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The admin API for keys, teams and organizations, on the gateway's port, with LiteLLM's paths and
 * field names: {@code /key/generate|info|update|delete|regenerate|block|unblock|list},
 * {@code /team/new|update|delete|info|list}, {@code /organization/new|update|delete|info|list}.
 * Only the master key may call it; a virtual key may read its own {@code GET /key/info}. Without a
 * master key every route answers 403 saying how to turn the API on.
 */
public final class AdminApi {
    private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
    private static final Set<String> KEY_FIELDS = Set.of("key", "key_alias", "team_id", "models", "max_budget", "budget_duration",
            "rpm_limit", "tpm_limit", "max_parallel_requests", "soft_budget", "alert_thresholds", "tags", "metadata", "duration", "expires", "blocked");
    private static final Set<String> TEAM_FIELDS = Set.of("team_id", "team_alias", "organization_id", "models", "max_budget",
            "budget_duration", "rpm_limit", "tpm_limit", "max_parallel_requests", "soft_budget", "alert_thresholds", "metadata", "blocked");
    private static final Set<String> ORG_FIELDS = Set.of("organization_id", "organization_alias", "models", "max_budget",
            "budget_duration", "rpm_limit", "tpm_limit", "max_parallel_requests", "soft_budget", "alert_thresholds", "metadata", "blocked");

    private final Registry registry;
    private final byte[] masterDigest;
    private final io.prometheus.client.Counter authFailures;

    private AdminApi(Registry registry, byte[] masterDigest, io.prometheus.client.Counter authFailures) {
        this.registry = registry;
        this.masterDigest = masterDigest;
        this.authFailures = authFailures;
    }

    /**
     * Registers every admin route; {@code masterDigest} is the master key's SHA-256, or null (the API
     * is off). Refused credentials count in {@code authFailures} (label {@code reason}).
     */
    public static void register(ExtensionContext ctx, Registry registry, byte[] masterDigest, io.prometheus.client.Counter authFailures) {
        AdminApi api = new AdminApi(registry, masterDigest, authFailures);
        RouteAuth master = api::masterOnly;
        RouteAuth masterOrKey = api::masterOrAnyKey;
        post(ctx, "/key/generate", master, api, api::generateKey);
        ctx.route(HttpMethod.GET, "/key/info", masterOrKey, ex -> api.answer(ex, api::keyInfo));
        post(ctx, "/key/update", master, api, api::updateKey);
        post(ctx, "/key/delete", master, api, api::deleteKeys);
        post(ctx, "/key/regenerate", master, api, api::regenerateKey);
        post(ctx, "/key/block", master, api, b -> api.setKeyBlocked(b, true));
        post(ctx, "/key/unblock", master, api, b -> api.setKeyBlocked(b, false));
        ctx.route(HttpMethod.GET, "/key/list", master, ex -> api.answer(ex, api::listKeys));
        post(ctx, "/team/new", master, api, api::newTeam);
        post(ctx, "/team/update", master, api, api::updateTeam);
        post(ctx, "/team/delete", master, api, api::deleteTeams);
        ctx.route(HttpMethod.GET, "/team/info", master, ex -> api.answer(ex, api::teamInfo));
        ctx.route(HttpMethod.GET, "/team/list", master, ex -> api.answer(ex, q -> api.list(q, registry.teams(), api::teamView)));
        post(ctx, "/organization/new", master, api, api::newOrg);
        post(ctx, "/organization/update", master, api, api::updateOrg);
        post(ctx, "/organization/delete", master, api, api::deleteOrgs);
        ctx.route(HttpMethod.GET, "/organization/info", master, ex -> api.answer(ex, api::orgInfo));
        ctx.route(HttpMethod.GET, "/organization/list", master, ex -> api.answer(ex, q -> api.list(q, registry.orgs(), api::orgView)));
    }

    private static void post(ExtensionContext ctx, String path, RouteAuth auth, AdminApi api, Function<ObjectNode, Object> handler) {
        ctx.route(HttpMethod.POST, path, auth, ex -> api.answerBody(ex, handler));
    }

    // ---- auth ------------------------------------------------------------------------------------

    private OpenAiError masterOnly(Exchange ex) {
        if (masterDigest == null) {
            return adminOff();
        }
        CharSequence presented = PresentedKey.of(ex);
        if (presented == null) {
            authFailures.labels("admin_missing").inc();
            return new OpenAiError(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", "missing_api_key",
                    null, "The admin API needs the master key: send it as `Authorization: Bearer <NEMO_MASTER_KEY>`.");
        }
        if (!MessageDigest.isEqual(Secrets.digest(presented), masterDigest)) {
            authFailures.labels("admin_not_master").inc();
            return new OpenAiError(HttpResponseStatus.FORBIDDEN, "permission_error", "master_key_required",
                    null, "This admin route needs the master key; the key sent is not it.");
        }
        return null;
    }

    private OpenAiError masterOrAnyKey(Exchange ex) {
        if (masterDigest == null) {
            return adminOff();
        }
        return PresentedKey.of(ex) == null ? masterOnly(ex) : null; // which key may read what is decided by keyInfo
    }

    private static OpenAiError adminOff() {
        return new OpenAiError(HttpResponseStatus.FORBIDDEN, "permission_error", "admin_api_disabled", null,
                "The admin API is off because the gateway has no master key. Set NEMO_MASTER_KEY (or nemo.keys.master_key) "
                        + "and restart to manage keys, teams and organizations.");
    }

    // ---- plumbing --------------------------------------------------------------------------------

    /** A request to one admin route, with what the handler needs beyond the body. */
    private record Query(Exchange exchange, QueryStringDecoder query) {
        String param(String name) {
            List<String> v = query.parameters().get(name);
            return v == null || v.isEmpty() || v.get(0).isBlank() ? null : v.get(0);
        }
    }

    private void answer(Exchange ex, Function<Query, Object> handler) {
        run(ex, () -> handler.apply(new Query(ex, new QueryStringDecoder(ex.uri()))));
    }

    private void answerBody(Exchange ex, Function<ObjectNode, Object> handler) {
        ObjectNode body;
        try {
            body = ex.body().json(); // on the event loop, which owns the request's bytes
        } catch (InvalidBodyException e) {
            ex.respond(e.error());
            return;
        }
        run(ex, () -> handler.apply(body));
    }

    /**
     * Runs an admin request on the admin thread, never an event loop (a shared store's writes wait for
     * Redis), one at a time with every other change, and answers on the exchange's loop.
     */
    private void run(Exchange ex, java.util.function.Supplier<Object> work) {
        WORK.execute(() -> {
            Object answer;
            try {
                synchronized (registry) { // each admin request checks and writes as one step (no key made for a team being deleted)
                    answer = work.get();
                }
            } catch (Fields.BadField e) {
                answer = OpenAiError.badRequest("invalid_field", e.field, e.getMessage());
            } catch (Refusal e) {
                answer = e.error;
            } catch (StoreException e) {
                LOG.error("admin request {} failed in the store", ex.requestId(), e);
                answer = new OpenAiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "api_error", "store_error", null,
                        "The key store refused the change: " + e.getMessage());
            } catch (RuntimeException e) {
                LOG.error("admin request {} failed", ex.requestId(), e);
                answer = new OpenAiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "api_error", "internal_error", null,
                        "The admin request failed: " + e);
            }
            Object reply = answer;
            ex.eventLoop().execute(() -> {
                if (reply instanceof OpenAiError err) {
                    ex.respond(err);
                } else {
                    ex.respond(AdminJson.ok(ex.alloc(), reply));
                }
            });
        });
    }

    /** The admin thread: changes wait for the store (Redis, in cluster mode) here, not on an event loop. */
    private static final java.util.concurrent.ExecutorService WORK = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "nemo-admin");
        t.setDaemon(true);
        return t;
    });

    /** An answer other than 200, thrown from a handler. */
    private static final class Refusal extends RuntimeException {
        final OpenAiError error;

        Refusal(OpenAiError error) {
            super(error.message(), null, false, false);
            this.error = error;
        }
    }

    private static Refusal notFound(String what, String param) {
        return new Refusal(new OpenAiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error", "not_found", param, what + " not found."));
    }

    // ---- keys ------------------------------------------------------------------------------------

    /**
     * A secret the admin chose ({@code key}, as LiteLLM's {@code /key/generate} takes it: to keep the keys
     * clients already have when moving to this gateway), or a new one.
     */
    private String chosenSecret(String chosen) {
        if (chosen == null) {
            return Secrets.newKey();
        }
        if (!chosen.startsWith("sk-") || chosen.length() < 20 || chosen.length() > 200
                || !chosen.chars().allMatch(c -> c > 32 && c < 127)) {
            throw new Fields.BadField("key", "A chosen `key` must start with sk-, be 20 to 200 printable characters "
                    + "without spaces; leave it out to get a new one.");
        }
        if (registry.keyByHash(Secrets.hash(chosen)) != null
                || (masterDigest != null && java.security.MessageDigest.isEqual(Secrets.digest(chosen), masterDigest))) {
            throw new Fields.BadField("key", "That key is already in use.");
        }
        return chosen;
    }

    private Object generateKey(ObjectNode body) {
        Fields f = new Fields(body, KEY_FIELDS);
        long now = registry.clock().millis();
        String teamId = f.string("team_id");
        checkTeam(teamId);
        String secret = chosenSecret(f.string("key"));
        KeyRecord r = new KeyRecord(Secrets.random(16), Secrets.hash(secret), Secrets.prefixOf(secret), f.string("key_alias"),
                teamId, orEmpty(f.strings("models")), f.limits(null), orEmpty(f.strings("tags")), orEmpty(f.object("metadata")),
                f.expiry(now), Boolean.TRUE.equals(f.bool("blocked")), now, now);
        registry.putKey(r);
        LOG.info("key {} created", r.logName());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("key", secret);
        out.putAll(keyView(registry.keyByHash(r.hash())));
        return out;
    }

    private Object keyInfo(Query q) {
        String asked = q.param("key");
        CharSequence own = PresentedKey.of(q.exchange()); // present: masterOrAnyKey let the request in
        byte[] digest = Secrets.digest(own);
        if (!MessageDigest.isEqual(digest, masterDigest)) {
            String ownHash = Secrets.hex(digest);
            if (registry.keyByHash(ownHash) == null) {
                throw new Refusal(new OpenAiError(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", "invalid_api_key",
                        null, "Incorrect API key provided: " + Secrets.echoOf(own) + "."));
            }
            if (asked != null && !ownHash.equals(asked) && !ownHash.equals(Secrets.hash(asked))) {
                throw new Refusal(new OpenAiError(HttpResponseStatus.FORBIDDEN, "permission_error", "master_key_required",
                        "key", "A virtual key may read only its own info; other keys need the master key."));
            }
            asked = ownHash;
        } else if (asked == null) {
            throw new Fields.BadField("key", "`key` (the key or its token) is required.");
        }
        Entity<KeyRecord> e = findKey(asked);
        return Map.of("key", e.record().hash(), "info", keyView(e));
    }

    private Object updateKey(ObjectNode body) {
        Fields f = new Fields(body, with(KEY_FIELDS, "key"));
        Entity<KeyRecord> e = findKey(f.required("key"));
        KeyRecord o = e.record();
        long now = registry.clock().millis();
        String teamId = f.has("team_id") ? f.string("team_id") : o.teamId();
        checkTeam(teamId);
        Long expires = f.has("duration") || f.has("expires") ? f.expiry(now) : o.expiresAt();
        KeyRecord r = new KeyRecord(o.id(), o.hash(), o.prefix(), f.has("key_alias") ? f.string("key_alias") : o.alias(), teamId,
                f.has("models") ? orEmpty(f.strings("models")) : o.models(), f.limits(o.limits()),
                f.has("tags") ? orEmpty(f.strings("tags")) : o.tags(), f.has("metadata") ? orEmpty(f.object("metadata")) : o.metadata(),
                expires, f.has("blocked") ? Boolean.TRUE.equals(f.bool("blocked")) : o.blocked(), o.createdAt(), now);
        registry.putKey(r);
        return keyView(e);
    }

    private Object setKeyBlocked(ObjectNode body, boolean blocked) {
        Fields f = new Fields(body, Set.of("key"));
        Entity<KeyRecord> e = findKey(f.required("key"));
        KeyRecord o = e.record();
        registry.putKey(new KeyRecord(o.id(), o.hash(), o.prefix(), o.alias(), o.teamId(), o.models(), o.limits(), o.tags(),
                o.metadata(), o.expiresAt(), blocked, o.createdAt(), registry.clock().millis()));
        LOG.info("key {} {}", o.logName(), blocked ? "blocked" : "unblocked");
        return keyView(e);
    }

    private Object regenerateKey(ObjectNode body) {
        Fields f = new Fields(body, Set.of("key"));
        Entity<KeyRecord> e = findKey(f.required("key"));
        KeyRecord o = e.record();
        String secret = Secrets.newKey();
        KeyRecord r = new KeyRecord(o.id(), Secrets.hash(secret), Secrets.prefixOf(secret), o.alias(), o.teamId(), o.models(),
                o.limits(), o.tags(), o.metadata(), o.expiresAt(), o.blocked(), o.createdAt(), registry.clock().millis());
        registry.rotateKey(o.hash(), r);
        LOG.info("key {} rotated to {}", o.logName(), r.logName());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("key", secret);
        out.putAll(keyView(e));
        return out;
    }

    private Object deleteKeys(ObjectNode body) {
        Fields f = new Fields(body, Set.of("keys"));
        List<String> keys = f.strings("keys");
        if (keys == null || keys.isEmpty()) {
            throw new Fields.BadField("keys", "`keys` must list at least one key or token.");
        }
        List<Entity<KeyRecord>> found = new ArrayList<>();
        for (String k : keys) {
            found.add(findKey(k)); // all or nothing: an unknown one refuses the lot
        }
        List<String> deleted = new ArrayList<>();
        for (Entity<KeyRecord> e : found) {
            registry.removeKey(e.record().hash());
            deleted.add(e.record().hash());
            LOG.info("key {} deleted", e.record().logName());
        }
        return Map.of("deleted_keys", deleted);
    }

    private Object listKeys(Query q) {
        String team = q.param("team_id");
        List<Entity<KeyRecord>> keys = new ArrayList<>();
        for (Entity<KeyRecord> e : registry.keys()) {
            if (team == null || team.equals(e.record().teamId())) {
                keys.add(e);
            }
        }
        keys.sort(Comparator.comparingLong((Entity<KeyRecord> e) -> e.record().createdAt())
                .thenComparing(e -> e.record().alias(), Comparator.nullsLast(Comparator.naturalOrder()))
                .thenComparing(e -> e.record().id()));
        return page(q, keys, this::keyView, "keys");
    }

    /** A key by its secret, its token (the secret's hash), or its key_id (which outlives rotations). */
    private Entity<KeyRecord> findKey(String keyOrToken) {
        Entity<KeyRecord> e = registry.keyByHash(keyOrToken);
        if (e == null) {
            e = registry.keyByHash(Secrets.hash(keyOrToken));
        }
        if (e == null) {
            e = registry.keys().stream().filter(k -> k.record().id().equals(keyOrToken)).findFirst().orElse(null);
        }
        return found(e, "Key", "key");
    }

    private void checkTeam(String teamId) {
        if (teamId != null && registry.team(teamId) == null) {
            throw new Fields.BadField("team_id", "No team `" + teamId + "`; create it with POST /team/new first.");
        }
    }

    private Map<String, Object> keyView(Entity<KeyRecord> e) {
        KeyRecord r = e.record();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("token", r.hash());
        m.put("key_id", r.id());
        m.put("key_name", r.prefix());
        m.put("key_alias", r.alias());
        m.put("team_id", r.teamId());
        Entity<TeamRecord> team = registry.team(r.teamId());
        m.put("organization_id", team == null ? null : team.record().orgId());
        m.put("models", r.models());
        limitsView(m, e);
        m.put("tags", r.tags());
        m.put("expires", r.expiresAt() == null ? null : Instant.ofEpochMilli(r.expiresAt()).toString());
        m.put("expired", r.expired(registry.clock().millis())); // by the gateway's clock
        return state(m, r.metadata(), r.blocked(), r.createdAt(), r.updatedAt());
    }

    /** The members every record ends with. */
    private static Map<String, Object> state(Map<String, Object> m, Map<String, Object> metadata, boolean blocked,
                                             long createdAt, long updatedAt) {
        m.put("metadata", metadata);
        m.put("blocked", blocked);
        m.put("created_at", Instant.ofEpochMilli(createdAt).toString());
        m.put("updated_at", Instant.ofEpochMilli(updatedAt).toString());
        return m;
    }

    private void limitsView(Map<String, Object> m, Entity<?> e) {
        Limits l = limitsOf(e.record());
        registry.fresh(e);
        long now = registry.clock().millis();
        Budget.Period p = e.budget.current(now);
        m.put("max_budget", l.maxBudget());
        m.put("budget_duration", l.budgetDuration());
        m.put("spend", p.spent() / 1e9);
        m.put("total_spend", e.budget.totalSpent() / 1e9);
        m.put("budget_reset_at", p.end == 0 ? null : Instant.ofEpochMilli(p.end).toString());
        m.put("rpm_limit", l.rpmLimit());
        m.put("tpm_limit", l.tpmLimit());
        m.put("max_parallel_requests", l.maxParallelRequests());
        m.put("soft_budget", l.softBudget());
        m.put("alert_thresholds", l.alertBase() == null ? List.of() : l.thresholds());
        m.put("requests_in_flight", e.inFlight.get());
    }

    private static Limits limitsOf(Object record) {
        Limits l = record instanceof LimitedRecord r ? r.limits() : null;
        return l == null ? Limits.NONE : l;
    }

    // ---- teams -----------------------------------------------------------------------------------

    private Object newTeam(ObjectNode body) {
        Fields f = new Fields(body, TEAM_FIELDS);
        String id = f.string("team_id");
        if (id == null) {
            id = "team-" + Secrets.random(12);
        } else if (registry.team(id) != null) {
            throw new Fields.BadField("team_id", "A team `" + id + "` exists already.");
        }
        String org = f.string("organization_id");
        checkOrg(org);
        long now = registry.clock().millis();
        TeamRecord r = new TeamRecord(id, f.string("team_alias"), org, orEmpty(f.strings("models")), f.limits(null),
                orEmpty(f.object("metadata")), Boolean.TRUE.equals(f.bool("blocked")), now, now);
        registry.putTeam(r);
        return teamView(registry.team(id));
    }

    private Object updateTeam(ObjectNode body) {
        Fields f = new Fields(body, TEAM_FIELDS);
        Entity<TeamRecord> e = findTeam(f.required("team_id"));
        TeamRecord o = e.record();
        String org = f.has("organization_id") ? f.string("organization_id") : o.orgId();
        checkOrg(org);
        registry.putTeam(new TeamRecord(o.id(), f.has("team_alias") ? f.string("team_alias") : o.alias(), org,
                f.has("models") ? orEmpty(f.strings("models")) : o.models(), f.limits(o.limits()),
                f.has("metadata") ? orEmpty(f.object("metadata")) : o.metadata(),
                f.has("blocked") ? Boolean.TRUE.equals(f.bool("blocked")) : o.blocked(), o.createdAt(), registry.clock().millis()));
        return teamView(e);
    }

    private Object deleteTeams(ObjectNode body) {
        return deleteAll(body, "team_ids", "deleted_teams", "team", this::findTeam, this::keysOfTeam, "key", registry::removeTeam);
    }

    /**
     * Deletes the groups {@code field} lists, all or none: an unknown one, or one that still has
     * members ({@code members} counts them), refuses the lot.
     */
    private Object deleteAll(ObjectNode body, String field, String answer, String noun, Function<String, ?> find,
                             Function<String, Long> members, String memberWord, java.util.function.Consumer<String> remove) {
        Fields f = new Fields(body, Set.of(field));
        List<String> ids = f.strings(field);
        if (ids == null || ids.isEmpty()) {
            throw new Fields.BadField(field, "`" + field + "` must list at least one id.");
        }
        for (String id : ids) {
            find.apply(id);
            long n = members.apply(id);
            if (n > 0) {
                throw new Refusal(new OpenAiError(HttpResponseStatus.CONFLICT, "invalid_request_error", "has_members", field,
                        "The " + noun + " `" + id + "` still has " + n + " " + memberWord + "(s); delete or move them first."));
            }
        }
        ids.forEach(remove);
        return Map.of(answer, ids);
    }

    private Object teamInfo(Query q) {
        return teamView(findTeam(required(q, "team_id")));
    }

    private static String required(Query q, String name) {
        String id = q.param(name);
        if (id == null) {
            throw new Fields.BadField(name, "`" + name + "` is required.");
        }
        return id;
    }

    private long keysOfTeam(String teamId) {
        return registry.keys().stream().filter(k -> teamId.equals(k.record().teamId())).count();
    }

    private long teamsOfOrg(String orgId) {
        return registry.teams().stream().filter(t -> orgId.equals(t.record().orgId())).count();
    }

    private Entity<TeamRecord> findTeam(String id) {
        return found(registry.team(id), "Team `" + id + "`", "team_id");
    }

    private static <R> Entity<R> found(Entity<R> e, String what, String param) {
        if (e == null) {
            throw notFound(what, param);
        }
        return e;
    }

    private Map<String, Object> teamView(Entity<TeamRecord> e) {
        TeamRecord r = e.record();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("team_id", r.id());
        m.put("team_alias", r.alias());
        m.put("organization_id", r.orgId());
        m.put("models", r.models());
        limitsView(m, e);
        m.put("keys", keysOfTeam(r.id()));
        return state(m, r.metadata(), r.blocked(), r.createdAt(), r.updatedAt());
    }

    // ---- organizations ---------------------------------------------------------------------------

    private Object newOrg(ObjectNode body) {
        Fields f = new Fields(body, ORG_FIELDS);
        String id = f.string("organization_id");
        if (id == null) {
            id = "org-" + Secrets.random(12);
        } else if (registry.org(id) != null) {
            throw new Fields.BadField("organization_id", "An organization `" + id + "` exists already.");
        }
        long now = registry.clock().millis();
        registry.putOrg(new OrgRecord(id, f.string("organization_alias"), orEmpty(f.strings("models")), f.limits(null),
                orEmpty(f.object("metadata")), Boolean.TRUE.equals(f.bool("blocked")), now, now));
        return orgView(registry.org(id));
    }

    private Object updateOrg(ObjectNode body) {
        Fields f = new Fields(body, ORG_FIELDS);
        Entity<OrgRecord> e = findOrg(f.required("organization_id"));
        OrgRecord o = e.record();
        registry.putOrg(new OrgRecord(o.id(), f.has("organization_alias") ? f.string("organization_alias") : o.alias(),
                f.has("models") ? orEmpty(f.strings("models")) : o.models(), f.limits(o.limits()),
                f.has("metadata") ? orEmpty(f.object("metadata")) : o.metadata(),
                f.has("blocked") ? Boolean.TRUE.equals(f.bool("blocked")) : o.blocked(), o.createdAt(), registry.clock().millis()));
        return orgView(e);
    }

    private Object deleteOrgs(ObjectNode body) {
        return deleteAll(body, "organization_ids", "deleted_organizations", "organization", this::findOrg, this::teamsOfOrg,
                "team", registry::removeOrg);
    }

    private Object orgInfo(Query q) {
        return orgView(findOrg(required(q, "organization_id")));
    }

    private Entity<OrgRecord> findOrg(String id) {
        return found(registry.org(id), "Organization `" + id + "`", "organization_id");
    }

    private void checkOrg(String id) {
        if (id != null && registry.org(id) == null) {
            throw new Fields.BadField("organization_id", "No organization `" + id + "`; create it with POST /organization/new first.");
        }
    }

    private Map<String, Object> orgView(Entity<OrgRecord> e) {
        OrgRecord r = e.record();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("organization_id", r.id());
        m.put("organization_alias", r.alias());
        m.put("models", r.models());
        limitsView(m, e);
        m.put("teams", teamsOfOrg(r.id()));
        return state(m, r.metadata(), r.blocked(), r.createdAt(), r.updatedAt());
    }

    // ---- lists -----------------------------------------------------------------------------------

    private <R> Object list(Query q, java.util.Collection<Entity<R>> all, Function<Entity<R>, Map<String, Object>> view) {
        List<Entity<R>> items = new ArrayList<>(all);
        items.sort(Comparator.comparing(e -> e.ledger)); // by id: the ledger is "team:<id>" or "org:<id>"
        return page(q, items, view, "data");
    }

    private <E> Object page(Query q, List<E> items, Function<E, Map<String, Object>> view, String name) {
        int page = intParam(q, "page", 1);
        int size = Math.min(intParam(q, "size", 50), 500);
        List<Map<String, Object>> out = new ArrayList<>();
        long from = (long) (page - 1) * size;
        for (long i = from; i < Math.min(items.size(), from + size); i++) {
            out.add(view.apply(items.get((int) i)));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(name, out);
        m.put("total_count", items.size());
        m.put("current_page", page);
        m.put("total_pages", Math.max(1, (items.size() + size - 1) / size));
        return m;
    }

    private static int intParam(Query q, String name, int dflt) {
        String v = q.param(name);
        if (v == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v);
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw new Fields.BadField(name, "`" + name + "` must be a positive integer.");
    }

    private static <T> List<T> orEmpty(List<T> l) {
        return l == null ? List.of() : l;
    }

    private static Map<String, Object> orEmpty(Map<String, Object> m) {
        return m == null ? Map.of() : m;
    }

    private static Set<String> with(Set<String> s, String extra) {
        Set<String> out = new java.util.HashSet<>(s);
        out.add(extra);
        return out;
    }
}
