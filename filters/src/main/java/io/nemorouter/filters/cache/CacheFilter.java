package io.nemorouter.filters.cache;

import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.filters.keys.Principal;
import io.nemorouter.filters.keys.store.TeamRecord;
import io.prometheus.client.Counter;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * Before routing, after auth and limits (a hit counts toward RPM, and is refused by a blocked key
 * like any call): answers a request from the cache when its tenant has the same request stored and
 * unexpired ({@code x-nemo-cache: hit}, {@code x-nemo-cache-key}, {@code x-nemo-cache-age}); else
 * marks it a {@code miss} and records its answer. {@code nemo_cache: false} skips the read
 * ({@code bypass}) and refreshes the entry with the new answer. A local store is read on the event
 * loop; a shared one (Redis, in cluster mode) is asked and the filter waits ({@code PENDING}) for its
 * answer, a miss when it has none in time.
 */
final class CacheFilter implements RequestFilter {
    static final String KEY_HEADER = "x-nemo-cache-key";
    static final String AGE_HEADER = "x-nemo-cache-age";

    private final CacheStore store;
    /** The store is read on the event loop (the ring file); else asked, and waited for without blocking (Redis). */
    private final boolean local;
    private final long ttlMillis;
    private final int maxEntryBytes;
    private final boolean storeTruncated;
    private final LongSupplier clock;
    private final Counter.Child hits;
    private final Counter.Child misses;
    private final Counter.Child bypasses;
    private final Counter.Child coalesced;
    private final Flights flights;
    private final long waitMillis;

    CacheFilter(CacheStore store, long ttlMillis, int maxEntryBytes, boolean storeTruncated, LongSupplier clock,
                Counter lookups, Flights flights, long waitMillis) {
        this.flights = flights;
        this.waitMillis = waitMillis;
        this.store = store;
        this.local = store.local();
        this.ttlMillis = ttlMillis;
        this.maxEntryBytes = maxEntryBytes;
        this.storeTruncated = storeTruncated;
        this.clock = clock;
        this.hits = lookups.labels("hit");
        this.misses = lookups.labels("miss");
        this.bypasses = lookups.labels("bypass");
        this.coalesced = lookups.labels("coalesced");
    }

    @Override
    public Verdict filter(Exchange ex) {
        Endpoint endpoint = ex.endpoint();
        if (endpoint != Endpoint.CHAT_COMPLETIONS && endpoint != Endpoint.EMBEDDINGS && endpoint != Endpoint.RESPONSES) {
            return Verdict.CONTINUE; // text completions are not cached
        }
        String model = ex.body().model();
        if (model == null) {
            return Verdict.CONTINUE;
        }
        Principal principal = ex.get(Principal.KEY);
        Object on = policy(principal, "cache");
        if ("off".equals(on) || Boolean.FALSE.equals(on)) {
            ex.cacheDecision("bypass"); // the key's, team's or organization's own policy
            return Verdict.CONTINUE;
        }
        long policyTtl = ttlMillis;
        Object ttlSetting = policy(principal, "cache_ttl");
        if (ttlSetting instanceof Number n && n.longValue() > 0) {
            policyTtl = Math.min(n.longValue(), MAX_TTL_SECONDS) * 1000;
        }
        String scope = scope(principal);
        String key;
        try {
            key = ex.body().edited()
                    ? CacheKey.of(scope, endpoint.path, model, ex.body().renderJson(null, false)) // what goes upstream
                    : CacheKey.of(scope, endpoint.path, model, ex.content());
        } catch (CacheKey.Uncacheable | InvalidBodyException e) {
            ex.cacheDecision("bypass");
            return Verdict.CONTINUE;
        }
        boolean bypass = Boolean.FALSE.equals(ex.body().cache());
        long ttl = ex.body().cacheTtlSeconds() > 0 ? Math.min(policyTtl / 1000, ex.body().cacheTtlSeconds()) * 1000 : policyTtl;
        if (!bypass) {
            long now = clock.getAsLong();
            CacheEntry hit;
            if (local) {
                hit = store.get(key, now);
            } else {
                // a shared store (Redis): the event loop does not wait for it; the filter resumes when it answers
                CompletableFuture<CacheEntry> found = store.lookup(key, now);
                if (!found.isDone()) {
                    found.whenComplete((e, error) -> ex.eventLoop().execute(() -> resume(ex, key, scope, model, ttl, e)));
                    return Verdict.PENDING;
                }
                hit = found.isCompletedExceptionally() ? null : found.getNow(null);
            }
            if (hit != null && answer(ex, key, scope, hit, now)) {
                hits.inc();
                return Verdict.ANSWERED;
            }
        }
        return missed(ex, key, scope, model, ttl, bypass);
    }

    /** A shared store's lookup has answered ({@code hit}, or null): the filter goes on from there, on the exchange's loop. */
    private void resume(Exchange ex, String key, String scope, String model, long ttl, CacheEntry hit) {
        if (ex.finished()) {
            return; // the client went while Redis answered
        }
        if (hit != null && answer(ex, key, scope, hit, clock.getAsLong())) {
            hits.inc();
        } else if (missed(ex, key, scope, model, ttl, false) == Verdict.CONTINUE) {
            ex.proceed();
        }
    }

    /**
     * Not answered from the store: records the answer, leading a flight of identical requests or
     * joining one under way ({@code PENDING}: its follower goes on when the flight lands).
     */
    private Verdict missed(Exchange ex, String key, String scope, String model, long ttl, boolean bypass) {
        Recorder recorder = new Recorder(scope, model, ttl, maxEntryBytes, storeTruncated, clock,
                entry -> store.put(key, entry)); // handed to the writer thread
        if (!bypass) {
            Flights.Flight mine = flights.flight(key, ex.body().stream(), recorder);
            Flights.Flight flight = flights.lead(key, mine);
            if (flight == null) {
                recorder.lead(mine, (entry, c) -> land(key, scope, mine, recorder, entry, c));
            } else if (flight.join(ex, () -> goOn(ex, recorder))) {
                coalesced.inc();
                ex.eventLoop().schedule(() -> {
                    if (flight.leave(ex)) {
                        goOn(ex, recorder); // waited long enough: on its own
                    }
                }, waitMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
                return Verdict.PENDING;
            }
        }
        (bypass ? bypasses : misses).inc();
        ex.cacheDecision(bypass ? "bypass" : "miss");
        ex.listen(recorder);
        return Verdict.CONTINUE;
    }

    /**
     * A leader's answer is over ({@code stored} is its entry, or null): followers that took its
     * stream live are ended with it (or broken off, when it broke); the others are answered from
     * the entry, or go upstream on their own when there is none to give.
     */
    private void land(String key, String scope, Flights.Flight mine, Recorder recorder, CacheEntry stored, Completion c) {
        Flights.Landing landing = flights.land(mine);
        boolean whole = c.status() == 200 && c.failure() == null && !c.cancelled();
        for (LiveFollower f : landing.live()) {
            if (whole) {
                f.end(recorder.tail(f.exchange().body().includeUsage(), c.usage()), c.cost());
            } else {
                f.abort();
            }
            hits.inc();
        }
        for (Flights.Waiting w : landing.waiting()) {
            Exchange follower = w.exchange();
            follower.eventLoop().execute(() -> {
                // a follower joined by the key, which holds the scope: the leader's scope is its own
                if (stored == null || !answer(follower, key, scope, stored, clock.getAsLong())) {
                    w.onOwn().run(); // the leader's answer was not one to share
                } else {
                    hits.inc();
                }
            });
        }
    }

    /**
     * Answers {@code ex} from {@code hit} (in the form it asked for); false when the entry is not the
     * request's tenant's or cannot be given in that form.
     */
    private static boolean answer(Exchange ex, String key, String scope, CacheEntry hit, long now) {
        if (hit.streamed() != ex.body().stream()) {
            // stored as a stream, asked for whole, or the other way round: chat's forms convert; a
            // Responses answer is served only in the form it was stored in
            hit = ex.endpoint() == Endpoint.CHAT_COMPLETIONS ? converted(hit) : null;
        }
        if (hit == null || !hit.scope().equals(scope)) {
            return false;
        }
        long age = Math.max(0, now - hit.createdMillis());
        ex.set(CacheHit.KEY, new CacheHit(hit.cost(), age));
        markHit(ex, key, age);
        ex.respond(Replay.of(hit, ex.body().includeUsage()));
        return true;
    }

    /** What every answer from the cache says, stored or shared live: a hit, at no cost, its key and age. */
    static void markHit(Exchange ex, String key, long ageMillis) {
        ex.cacheDecision("hit");
        ex.answerCost(0); // nobody was paid for it
        ex.responseHeader(KEY_HEADER, key.substring(0, 16));
        ex.responseHeader(AGE_HEADER, Long.toString(ageMillis / 1000));
    }

    /** A follower that goes upstream after all: a miss, recorded like any, then the rest of the filters and routing. */
    private static void goOn(Exchange ex, Recorder recorder) {
        if (!ex.finished()) {
            ex.cacheDecision("miss");
            ex.listen(recorder);
            ex.proceed();
        }
    }

    /** A year: longer cache TTLs (a typo, say) are cut to it. */
    private static final long MAX_TTL_SECONDS = 366L * 24 * 3600;

    /**
     * A cache setting ({@code cache}: "on" / "off" or a boolean; {@code cache_ttl}: seconds) from the
     * metadata of the key, else its team, else its organization: the most specific one set wins.
     */
    static Object policy(Principal p, String name) {
        if (p == null) {
            return null;
        }
        if (p.keyRecord() != null && has(p.keyRecord().metadata(), name)) {
            return p.keyRecord().metadata().get(name);
        }
        if (p.teamRecord() != null && has(p.teamRecord().metadata(), name)) {
            return p.teamRecord().metadata().get(name);
        }
        if (p.orgRecord() != null && has(p.orgRecord().metadata(), name)) {
            return p.orgRecord().metadata().get(name);
        }
        return null;
    }

    private static boolean has(Map<String, Object> metadata, String name) {
        return metadata != null && metadata.containsKey(name);
    }

    /** {@code e} in the other form (stream events, or the whole completion), or null when it cannot be. */
    private static CacheEntry converted(CacheEntry e) {
        if (e.contentType() == null || !(e.contentType().startsWith("application/json") || e.contentType().startsWith("text/event-stream"))) {
            return null;
        }
        byte[] body = e.streamed() ? Convert.toCompletion(e) : Convert.toEvents(e.body());
        return body == null ? null : new CacheEntry(e.scope(), e.model(), e.deployment(), e.createdMillis(), e.expiresMillis(),
                !e.streamed(), e.streamed() ? "application/json" : "text/event-stream", e.promptTokens(), e.completionTokens(),
                e.cachedTokens(), e.cost(), body);
    }

    /**
     * Whose answers a request may read: its organization's (its team's when the team sets a cache
     * policy of its own: {@code org:O/team:T}); a key outside any organization, its team's, else its own; the master key
     * and an open gateway have a scope each.
     */
    static String scope(Principal p) {
        if (p == null) {
            return "open";
        }
        if (p.master()) {
            return "master";
        }
        TeamRecord team = p.teamRecord();
        if (team != null && (has(team.metadata(), "cache") || has(team.metadata(), "cache_ttl"))) {
            // a team with a cache policy of its own has a cache of its own, still its organization's to flush
            return p.orgRecord() != null ? "org:" + p.orgRecord().id() + "/team:" + team.id() : "team:" + team.id();
        }
        if (p.orgRecord() != null) {
            return "org:" + p.orgRecord().id();
        }
        if (p.teamRecord() != null) {
            return "team:" + p.teamRecord().id();
        }
        return p.keyRecord() == null ? "open" : "key:" + p.keyRecord().id();
    }
}
