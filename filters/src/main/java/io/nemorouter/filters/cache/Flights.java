package io.nemorouter.filters.cache;

import io.nemorouter.core.exchange.Exchange;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Requests under way, by cache key: the first of identical requests (the leader) goes upstream;
 * those that arrive while it runs (followers) wait for its answer instead of calling the provider
 * again, at most {@code maxFollowers} of them and each for a bounded time. When the leader's answer
 * is stored, followers are answered from it; when it fails, they go upstream on their own.
 */
final class Flights {
    private final ConcurrentHashMap<String, Flight> inFlight = new ConcurrentHashMap<>();
    private final int maxFollowers;

    Flights(int maxFollowers) {
        this.maxFollowers = maxFollowers;
    }

    /** One leader's flight and its followers. */
    static final class Flight {
        private final List<Exchange> followers = new ArrayList<>();
        private boolean landed;

        /** Adds {@code ex} as a follower; false when the flight has landed or is full (then it goes on its own). */
        synchronized boolean join(Exchange ex, int max) {
            if (landed || followers.size() >= max) {
                return false;
            }
            followers.add(ex);
            return true;
        }

        /** Takes {@code ex} off the flight (its wait ran out); false when the flight has already answered it. */
        synchronized boolean leave(Exchange ex) {
            return followers.remove(ex);
        }

        synchronized List<Exchange> land() {
            landed = true;
            List<Exchange> all = List.copyOf(followers);
            followers.clear(); // a follower's wait timer, when it fires now, finds it answered (leave is false)
            return all;
        }
    }

    /** The flight {@code key}'s leader is on, or null when the caller is now the leader of a new one ({@link #flight}). */
    Flight follow(String key) {
        Flight mine = new Flight();
        Flight existing = inFlight.putIfAbsent(key, mine);
        return existing;
    }

    Flight flight(String key) {
        return inFlight.get(key);
    }

    boolean join(Flight f, Exchange ex) {
        return f.join(ex, maxFollowers);
    }

    /** The leader is done: the flight leaves the board; its followers, to be answered or sent on. */
    List<Exchange> land(String key, Flight f) {
        inFlight.remove(key, f);
        return f.land();
    }
}
