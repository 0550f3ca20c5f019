package io.nemorouter.filters.cache;

import io.nemorouter.core.exchange.Key;

/**
 * Set on an exchange the cache answered: what the stored answer cost when it was generated (what
 * this hit saved) and how old it is. The request log reads it.
 */
public record CacheHit(double savedCost, long ageMillis) {
    public static final Key<CacheHit> KEY = Key.of("cache.hit");
}
