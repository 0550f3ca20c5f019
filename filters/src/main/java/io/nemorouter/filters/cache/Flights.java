package io.nemorouter.filters.cache;

import io.nemorouter.core.exchange.Exchange;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Requests under way, by cache key: the first of identical requests (the leader) goes upstream;
 * those that arrive while it runs (followers) wait for its answer instead of calling the provider
 * again, at most {@code maxFollowers} of them and each for a bounded time. A follower that asked for
 * a stream, of a leader that did, receives the leader's events as they arrive ({@link LiveFollower});
 * the others are answered when the leader's answer is stored. When the leader fails, followers that
 * have nothing yet go upstream on their own.
 */
final class Flights {
    private final ConcurrentHashMap<String, Flight> inFlight = new ConcurrentHashMap<>();
    private final int maxFollowers;

    Flights(int maxFollowers) {
        this.maxFollowers = maxFollowers;
    }

    /**
     * One leader's answer under way and its followers. The leader's recorder hands it each event
     * under its lock ({@link #forward}), so a follower that joins mid-stream gets the events so far
     * and then every later one, in order.
     */
    static final class Flight {
        private final String key;
        private final boolean stream;
        private final Recorder leader;
        private final int maxFollowers;
        private final List<Waiting> waiting = new ArrayList<>(0); // most flights have no followers
        private final List<LiveFollower> live = new ArrayList<>(0);
        private boolean landed;

        Flight(String key, boolean stream, Recorder leader, int maxFollowers) {
            this.key = key;
            this.stream = stream;
            this.leader = leader;
            this.maxFollowers = maxFollowers;
        }

        /**
         * Adds {@code ex} as a follower, sent the stream so far when it is live; false when the
         * flight has landed or is full (then it goes on its own).
         */
        synchronized boolean join(Exchange ex, Runnable onOwn) {
            if (landed || waiting.size() + live.size() >= maxFollowers) {
                return false;
            }
            if (stream && ex.body().stream()) {
                List<byte[]> soFar = leader.eventsSoFar();
                if (soFar != null) {
                    LiveFollower f = new LiveFollower(ex, key, onOwn);
                    live.add(f);
                    if (!soFar.isEmpty()) {
                        f.send(soFar);
                    }
                    return true;
                }
            }
            waiting.add(new Waiting(ex, onOwn));
            return true;
        }

        /** Takes {@code ex} off the flight (its wait ran out); false when it is being answered already. */
        synchronized boolean leave(Exchange ex) {
            for (int i = 0; i < waiting.size(); i++) {
                if (waiting.get(i).exchange() == ex) {
                    waiting.remove(i);
                    return true;
                }
            }
            for (int i = 0; i < live.size(); i++) {
                if (live.get(i).exchange() == ex && !live.get(i).started()) {
                    live.remove(i);
                    return true;
                }
            }
            return false;
        }

        /** Whether any follower takes the stream live (the leader's recorder copies events only then). */
        synchronized boolean hasLive() {
            return !live.isEmpty();
        }

        /** The leader's next event, to every live follower. Called with this flight's lock held. */
        void forward(byte[] event) {
            List<byte[]> one = List.of(event);
            for (LiveFollower f : live) {
                f.send(one);
            }
        }

        /**
         * The leader is done: followers that have had events (to end or break off) and the rest (to
         * answer from the stored entry, or send upstream).
         */
        synchronized Landing land() {
            landed = true;
            if (live.isEmpty() && waiting.isEmpty()) {
                return Landing.NONE; // most flights: nobody followed
            }
            List<LiveFollower> started = new ArrayList<>(live.size());
            List<Waiting> rest = new ArrayList<>(waiting);
            for (LiveFollower f : live) {
                if (f.started()) {
                    started.add(f);
                } else {
                    rest.add(new Waiting(f.exchange(), f.onOwn()));
                }
            }
            live.clear();
            waiting.clear(); // a follower's wait timer, when it fires now, finds it answered (leave is false)
            return new Landing(started, rest);
        }
    }

    /** A follower waiting for the leader's stored answer, and how it goes upstream on its own when there is none. */
    record Waiting(Exchange exchange, Runnable onOwn) {
    }

    record Landing(List<LiveFollower> live, List<Waiting> waiting) {
        static final Landing NONE = new Landing(List.of(), List.of());
    }

    /** Puts {@code mine} on the board for {@code key}: null when the caller leads it, else the flight already there. */
    Flight lead(String key, Flight mine) {
        return inFlight.putIfAbsent(key, mine);
    }

    /** A flight for {@code key} whose leader's answer {@code leader} records ({@code stream}: the leader asked for one). */
    Flight flight(String key, boolean stream, Recorder leader) {
        return new Flight(key, stream, leader, maxFollowers);
    }

    /** The leader is done: the flight leaves the board; its followers, to be answered or sent on. */
    Landing land(Flight f) {
        inFlight.remove(f.key, f);
        return f.land();
    }
}
