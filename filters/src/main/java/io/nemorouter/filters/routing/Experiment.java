package io.nemorouter.filters.routing;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.filters.keys.Principal;

import java.util.concurrent.ThreadLocalRandom;

/**
 * An A/B test: a model name's traffic split between groups by percentage. With {@code sticky = key}
 * (or {@code user}) a key (or the body's {@code user}) always gets the same variant: its hash picks
 * the bucket; otherwise each request draws one.
 *
 * @param targets    the groups, in order
 * @param cumulative the running total of their shares, in hundredths of a percent (the last is 10,000)
 */
record Experiment(String name, String model, String[] targets, int[] cumulative, Sticky sticky) {
    enum Sticky { NONE, KEY, USER }

    /** The group this request goes to. */
    String variant(Exchange ex) {
        return variant(switch (sticky) {
            case KEY -> keyOf(ex);
            case USER -> userOf(ex);
            case NONE -> null;
        });
    }

    /** The group for a request whose key (or user) is {@code stickyId}: always the same one for an id; drawn for null. */
    String variant(String stickyId) {
        int bucket = bucket(stickyId);
        if (bucket < 0) {
            bucket = ThreadLocalRandom.current().nextInt(10_000);
        }
        for (int i = 0; i < targets.length; i++) {
            if (bucket < cumulative[i]) {
                return targets[i];
            }
        }
        return targets[targets.length - 1];
    }

    /** 0..9999 from {@code id} mixed with the experiment's name (so two experiments split one key base differently); -1 for none. */
    private int bucket(String id) {
        if (id == null) {
            return -1;
        }
        long h = (name + "\u0000" + id).hashCode() * 0x9E3779B97F4A7C15L;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return (int) Math.floorMod(h, 10_000L);
    }

    private static String keyOf(Exchange ex) {
        Principal p = ex.get(Principal.KEY);
        if (p == null || p.keyRecord() == null) {
            return p != null && p.master() ? "master" : null;
        }
        return p.keyRecord().id();
    }

    private static String userOf(Exchange ex) {
        try {
            var user = ex.body().member("user");
            return user != null && user.isTextual() ? user.textValue() : null;
        } catch (InvalidBodyException e) {
            return null;
        }
    }
}
