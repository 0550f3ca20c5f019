package io.nemorouter.filters.routing;

import io.nemorouter.core.exchange.Key;

/** Set on an exchange an A/B experiment split: the experiment and the group it was sent to. The request log reads it. */
public record AbVariant(String experiment, String variant) {
    public static final Key<AbVariant> KEY = Key.of("router.variant");
}
