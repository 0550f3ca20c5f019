package io.nemorouter.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.Promise;
import org.HdrHistogram.Histogram;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * An open-model load: requests start at a fixed rate whatever the server does, and each latency
 * is measured from when the request was due, not when it was sent, so a stall shows up in the
 * percentiles instead of hiding (no coordinated omission). Everything runs on one event loop:
 * keep-alive connections are reused, and opened on demand up to {@code maxConnections}.
 */
final class FixedRateLoad {
    record Result(String name, Histogram total, Histogram firstByte, long completed, long failed, double seconds) {
        double rps() {
            return completed / seconds;
        }
    }

    private final EventLoop loop;
    private final Class<? extends Channel> channelType;
    private final InetSocketAddress address;
    private final String path;
    private final byte[] body;
    private final int rate;
    private final long warmupNanos;
    private final long measureNanos;
    private final int maxConnections;

    private final Histogram total = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
    private final Histogram firstByte = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
    private final ArrayDeque<Conn> idle = new ArrayDeque<>();
    private final ArrayDeque<Long> waiting = new ArrayDeque<>();
    private long start;
    private int slot;
    /** BENCH_AUTH: a key every request carries as {@code Authorization: Bearer} (bench/ab.sh's AB_SETUP makes one). */
    private static final String AUTH = System.getenv("BENCH_AUTH");
    /**
     * BENCH_UNIQUE=1: every request differs from every other (a {@code "seed"} member with a counter before the
     * body's closing brace), so a response cache misses them all (bench/cache-ab.sh).
     */
    private static final boolean UNIQUE = "1".equals(System.getenv("BENCH_UNIQUE"));
    private static final java.util.concurrent.atomic.AtomicLong SEQ = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());

    private byte[] unique() {
        String s = new String(body, java.nio.charset.StandardCharsets.UTF_8);
        int end = s.lastIndexOf('}');
        return (s.substring(0, end) + ",\"seed\":" + SEQ.incrementAndGet() + "}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private int slots = 1;
    private long issued;
    private long outstanding;
    private int open;
    private long completed;
    private long failed;
    private Promise<Void> done;

    FixedRateLoad(EventLoop loop, Class<? extends Channel> channelType, InetSocketAddress address, String path, byte[] body,
                  int rate, long warmupNanos, long measureNanos, int maxConnections) {
        this.loop = loop;
        this.channelType = channelType;
        this.address = address;
        this.path = path;
        this.body = body;
        this.rate = rate;
        this.warmupNanos = warmupNanos;
        this.measureNanos = measureNanos;
        this.maxConnections = maxConnections;
    }

    /**
     * Starts the load at {@code startAt} (a {@link System#nanoTime()} instant; {@link #result} waits
     * for its end) as one of {@code slots} loads sharing each period: each period's order of the
     * loads is a new random permutation ({@link #position}), the same for every load, and this
     * one's request goes out in its position's share of the period.
     *
     * <p>The order has to change at random, not merely rotate. A fixed order is not fair: a request
     * that follows another target's closely finds the machine awake, one that follows an idle gap
     * pays to wake it (an A/A test of two identical gateways in fixed slots differed by 28 µs at
     * p50, every round). A rotation still keeps the cycle, so each target follows the same other
     * target two periods in three: an A/A pair measured 4–6 µs apart, in favour of the one
     * listed second, every time.
     */
    FixedRateLoad start(long startAt, int slot, int slots) {
        this.slot = slot;
        this.slots = slots;
        done = loop.newPromise();
        loop.execute(() -> {
            start = startAt;
            scheduleNext();
        });
        return this;
    }

    /**
     * Where load {@code slot} of {@code slots} goes in period {@code i}: its place in a random
     * permutation drawn from the period's number alone, so every load computes the same order
     * without sharing anything.
     */
    static int position(long i, int slot, int slots) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(0x9E3779B97F4A7C15L * (i + 1));
        int[] order = new int[slots];
        for (int k = 0; k < slots; k++) {
            order[k] = k;
        }
        for (int k = slots - 1; k > 0; k--) {
            int j = random.nextInt(k + 1);
            int t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < slots; k++) {
            if (order[k] == slot) {
                return k;
            }
        }
        throw new IllegalArgumentException("slot " + slot + " of " + slots);
    }

    Result result(String name) throws InterruptedException {
        done.await();
        loop.submit(() -> idle.forEach(c -> c.channel.close())).await();
        return new Result(name, total, firstByte, completed, failed, measureNanos / 1e9);
    }

    private long due(long i) {
        long period = 1_000_000_000L / rate;
        return start + i * period + position(i, slot, slots) * period / slots;
    }

    private void scheduleNext() {
        long end = start + warmupNanos + measureNanos;
        long now = System.nanoTime();
        // each due time draws its period's order (position): once per request, not once per test
        long next = due(issued);
        while (next <= now && next < end) {
            issue(next);
            next = due(++issued);
        }
        if (next < end) {
            loop.schedule(this::scheduleNext, Math.max(0, next - System.nanoTime()), TimeUnit.NANOSECONDS);
        } else if (outstanding == 0) {
            done.trySuccess(null);
        }
    }

    private void issue(long dueAt) {
        outstanding++;
        Conn c = idle.pollFirst();
        if (c != null) {
            c.send(dueAt);
        } else if (open < maxConnections) {
            open++;
            connect(dueAt);
        } else {
            waiting.add(dueAt);
        }
    }

    private void connect(long dueAt) {
        Conn conn = new Conn();
        new Bootstrap().group(loop).channel(channelType)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), conn);
                    }
                })
                .connect(address).addListener((ChannelFuture f) -> {
                    if (f.isSuccess()) {
                        conn.channel = f.channel();
                        conn.send(dueAt);
                    } else {
                        open--;
                        finished(dueAt, false, 0);
                    }
                });
    }

    private void finished(long dueAt, boolean ok, long firstByteAt) {
        outstanding--;
        long now = System.nanoTime();
        boolean measured = dueAt >= start + warmupNanos;
        if (measured) {
            if (ok) {
                completed++;
                total.recordValue(Math.max(0, now - dueAt));
                if (firstByteAt > 0) {
                    firstByte.recordValue(Math.max(0, firstByteAt - dueAt));
                }
            } else {
                failed++;
            }
        }
        if (outstanding == 0 && due(issued) >= start + warmupNanos + measureNanos) {
            done.trySuccess(null);
        }
    }

    private final class Conn extends SimpleChannelInboundHandler<HttpObject> {
        Channel channel;
        long dueAt;
        long firstByteAt;
        boolean ok;
        boolean busy;

        void send(long due) {
            busy = true;
            dueAt = due;
            firstByteAt = 0;
            byte[] bytes = UNIQUE ? unique() : body;
            ByteBuf content = Unpooled.wrappedBuffer(bytes);
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path, content);
            req.headers().set(HttpHeaderNames.HOST, address.getHostString() + ":" + address.getPort())
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
            if (AUTH != null && !AUTH.isEmpty()) {
                req.headers().set(HttpHeaderNames.AUTHORIZATION, "Bearer " + AUTH);
            }
            channel.writeAndFlush(req, channel.voidPromise());
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg instanceof HttpResponse r) {
                ok = r.status().code() == 200;
            }
            if (msg instanceof HttpContent c && firstByteAt == 0 && c.content().isReadable()) {
                firstByteAt = System.nanoTime();
            }
            if (msg instanceof LastHttpContent) {
                busy = false;
                finished(dueAt, ok, firstByteAt);
                Long next = waiting.poll();
                if (next != null) {
                    send(next);
                } else {
                    idle.addFirst(this);
                }
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            idle.remove(this);
            open--;
            if (busy) {
                busy = false;
                finished(dueAt, false, 0);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
