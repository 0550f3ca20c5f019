package io.nemorouter.filters.cache;

import io.nemorouter.core.exchange.AnswerListener;
import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.Usage;
import io.nemorouter.core.openai.UsageScanner;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Records a missed (or refreshed) answer as it goes to the client, and stores it when the exchange
 * has finished well: status 200, not cut short, its usage from the upstream (not estimated), not
 * over the size cap, and not truncated by {@code max_tokens} when the cache is told to skip those.
 * A stream is kept without its usage event and {@code "usage":null} members (as a client that did
 * not ask gets it); a replay adds the usage event for a client that asks. A leader's recorder also
 * hands each event, in that form, to the followers that take its stream live.
 */
final class Recorder implements AnswerListener {
    private static final byte[] DONE = "data: [DONE]".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FINISH_REASON = "\"finish_reason\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] LENGTH = "\"length\"".getBytes(StandardCharsets.US_ASCII);

    private final String scope;
    private final String model;
    private final long ttlMillis;
    private final int maxBytes;
    private final boolean storeTruncated;
    private final Consumer<CacheEntry> store;
    private final LongSupplier clock;
    /** The answer so far (a stream: its events, normalised), and where each event ends. */
    private byte[] body;
    private int size;
    private int[] eventEnds;
    private int eventCount;
    /** The head was a 200: worth recording. */
    private boolean ok = true;
    /** Everything so far is in {@link #body}: not over the size cap. */
    private boolean kept = true;
    private boolean events;
    private boolean sawDone;
    /** The leader's flight, when this records a leader's answer: its lock guards {@link #body}. */
    private Flights.Flight flight;
    /** A leader's first event, for the usage event of a follower that asks for one. */
    private byte[] firstEvent;
    private Landed landed;

    Recorder(String scope, String model, long ttlMillis, int maxBytes, boolean storeTruncated, LongSupplier clock,
             Consumer<CacheEntry> store) {
        this.scope = scope;
        this.model = model;
        this.ttlMillis = ttlMillis;
        this.maxBytes = maxBytes;
        this.storeTruncated = storeTruncated;
        this.clock = clock;
        this.store = store;
    }

    /** Told when the exchange ends: the entry stored (null when none was), and how the exchange ended. */
    interface Landed {
        void landed(CacheEntry stored, Completion c);
    }

    /** Makes this the recorder of {@code flight}'s leader, told {@code then} at the end. */
    void lead(Flights.Flight flight, Landed then) {
        this.flight = flight;
        this.landed = then;
    }

    @Override
    public void onHead(Exchange exchange, int status) {
        ok &= status == 200;
    }

    @Override
    public void onBody(Exchange exchange, ByteBuf piece) {
        append(piece, piece.readerIndex(), piece.writerIndex());
    }

    @Override
    public void onEvent(Exchange exchange, ByteBuf event) {
        events = true;
        boolean chat = exchange.endpoint() == Endpoint.CHAT_COMPLETIONS; // other streams are kept as they came
        if (!ok || (chat && UsageScanner.isUsageOnly(event))) {
            return; // a usage event is added back on a replay whose client asks
        }
        int[] nullUsage = chat ? UsageScanner.nullUsageMember(event) : null;
        if (flight == null) {
            record(event, nullUsage);
            return;
        }
        boolean done = isDone(event);
        synchronized (flight) {
            int from = size;
            record(event, nullUsage);
            sawDone |= done; // [DONE] is held back from live followers until the end, after their usage event
            boolean live = flight.hasLive();
            if (firstEvent == null || (live && !done)) {
                byte[] normalised = kept ? Arrays.copyOfRange(body, from, size) : normalised(event, nullUsage);
                if (firstEvent == null) {
                    firstEvent = normalised;
                }
                if (live && !done) {
                    flight.forward(normalised);
                }
            }
        }
    }

    /** Appends the event without its {@code "usage":null} member (as a client that did not ask for usage gets it). */
    private void record(ByteBuf event, int[] nullUsage) {
        if (nullUsage == null) {
            append(event, event.readerIndex(), event.writerIndex());
        } else {
            append(event, event.readerIndex(), nullUsage[0]);
            append(event, nullUsage[1], event.writerIndex());
        }
        if (kept) {
            if (eventEnds == null) {
                eventEnds = new int[16];
            } else if (eventCount == eventEnds.length) {
                eventEnds = Arrays.copyOf(eventEnds, eventCount * 2);
            }
            eventEnds[eventCount++] = size;
        }
    }

    private static byte[] normalised(ByteBuf event, int[] nullUsage) {
        if (nullUsage == null) {
            return ByteBufUtil.getBytes(event);
        }
        int head = nullUsage[0] - event.readerIndex();
        byte[] out = new byte[head + event.writerIndex() - nullUsage[1]];
        event.getBytes(event.readerIndex(), out, 0, head);
        event.getBytes(nullUsage[1], out, head, event.writerIndex() - nullUsage[1]);
        return out;
    }

    private void append(ByteBuf b, int from, int to) {
        if (!ok || !kept) {
            return;
        }
        int length = to - from;
        if (size + length > maxBytes) {
            kept = false; // over the cap: never stored
            body = null;
            size = 0;
            return;
        }
        if (body == null) {
            // a whole answer comes in one piece, nearly always: its size exactly, so it is stored without a copy
            body = new byte[events ? Math.min(maxBytes, Math.max(length, 1024)) : length];
        } else if (size + length > body.length) {
            body = Arrays.copyOf(body, Math.min(maxBytes, Math.max(size + length, body.length * 2)));
        }
        b.getBytes(from, body, size, length);
        size += length;
    }

    /**
     * A leader's events so far (without {@code [DONE]}), for a follower that joins mid-stream; null
     * when they are no longer all here (over the size cap). Called with the flight's lock held.
     */
    List<byte[]> eventsSoFar() {
        if (!kept) {
            return null;
        }
        if (eventCount == 0) {
            return List.of();
        }
        List<byte[]> all = new ArrayList<>(eventCount);
        int from = 0;
        for (int i = 0; i < eventCount; i++) {
            int to = eventEnds[i];
            if (!isDone(Unpooled.wrappedBuffer(body, from, to - from))) {
                all.add(Arrays.copyOfRange(body, from, to));
            }
            from = to;
        }
        return all;
    }

    /**
     * What a live follower gets after the leader's last event: the usage event when it asked for
     * one and the usage is known, then {@code data: [DONE]} when the leader's stream had it.
     */
    byte[] tail(boolean includeUsage, Usage usage) {
        String usageEvent = "";
        if (includeUsage && usage != null) {
            String first = firstEvent == null ? "" : new String(firstEvent, StandardCharsets.UTF_8);
            usageEvent = Replay.usageEvent(first, model, clock.getAsLong(), usage.promptTokens(), usage.completionTokens(),
                    usage.cachedTokens());
        }
        return (usageEvent + (sawDone ? "data: [DONE]\n\n" : "")).getBytes(StandardCharsets.UTF_8);
    }

    /** Whether {@code event} is the stream's closing {@code data: [DONE]} event. */
    private static boolean isDone(ByteBuf event) {
        int to = event.writerIndex();
        while (to > event.readerIndex() && (event.getByte(to - 1) == '\n' || event.getByte(to - 1) == '\r')) {
            to--;
        }
        if (to - event.readerIndex() != DONE.length) {
            return false;
        }
        for (int i = 0; i < DONE.length; i++) {
            if (event.getByte(event.readerIndex() + i) != DONE[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void onComplete(Completion c) {
        CacheEntry entry = entry(c);
        if (entry != null) {
            store.accept(entry);
        }
        if (landed != null) {
            landed.landed(entry, c); // the followers: answered from it, or sent upstream on their own when null
        }
    }

    private CacheEntry entry(Completion c) {
        Usage u = c.usage();
        if (!ok || !kept || c.status() != 200 || c.failure() != null || c.cancelled() || u == null || u.estimated() || size == 0) {
            return null;
        }
        byte[] bytes = size == body.length ? body : Arrays.copyOf(body, size);
        if (!storeTruncated && cutByLength(bytes)) {
            return null;
        }
        long now = clock.getAsLong();
        return new CacheEntry(scope, model, c.deployment() == null ? null : c.deployment().id(), now, now + ttlMillis,
                events, events ? "text/event-stream" : "application/json", u.promptTokens(), u.completionTokens(),
                u.cachedTokens(), Math.max(0, c.cost()), bytes);
    }

    /**
     * Whether the answer says {@code "finish_reason": "length"} anywhere (cut short by
     * {@code max_tokens}): read as bytes, not as a decoded string and a regular expression, which
     * cost a copy of the whole answer on every miss.
     */
    static boolean cutByLength(byte[] answer) {
        for (int at = indexOf(answer, FINISH_REASON, 0); at >= 0; at = indexOf(answer, FINISH_REASON, at + 1)) {
            int i = skipSpace(answer, at + FINISH_REASON.length);
            if (i < answer.length && answer[i] == ':') {
                i = skipSpace(answer, i + 1);
                if (Arrays.equals(answer, i, Math.min(answer.length, i + LENGTH.length), LENGTH, 0, LENGTH.length)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static int skipSpace(byte[] b, int i) {
        while (i < b.length && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) {
            i++;
        }
        return i;
    }

    private static int indexOf(byte[] b, byte[] what, int from) {
        for (int i = from; i <= b.length - what.length; i++) {
            if (b[i] == what[0] && Arrays.equals(b, i, i + what.length, what, 0, what.length)) {
                return i;
            }
        }
        return -1;
    }
}
