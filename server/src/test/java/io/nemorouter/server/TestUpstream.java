package io.nemorouter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scriptable OpenAI-compatible upstream for tests. What it does is chosen by the {@code model}
 * the gateway asks for, so one upstream serves every scenario:
 * {@code echo}, {@code stall}, {@code status-429}, {@code status-500}, {@code stream-gated},
 * {@code stream-forever}, {@code stream-reset}, {@code close-at-once}, {@code big}, {@code raw-whole}, {@code raw-split}.
 * It records what it received so tests can check what the gateway forwarded.
 */
final class TestUpstream implements AutoCloseable {
    record Received(String uri, HttpHeaders headers, String body) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    final List<Received> received = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger closedConnections = new AtomicInteger();
    private static final io.netty.util.AttributeKey<Boolean> FLOODING = io.netty.util.AttributeKey.valueOf("flooding");
    /** Bytes {@code stream-flood} has written so far. */
    final java.util.concurrent.atomic.AtomicLong floodBytes = new java.util.concurrent.atomic.AtomicLong();
    /** When set, the next request's connection is closed without an answer (once). */
    volatile boolean dropNextRequest;
    /** Completed by a test to let {@code stream-gated} finish its stream. */
    volatile CompletableFuture<Void> gate = new CompletableFuture<>();
    /** Completed when a {@code stream-forever} connection closes (the gateway cancelled it). */
    final CompletableFuture<Void> foreverClosed = new CompletableFuture<>();
    /** Completed once {@code stream-gated} has sent its first chunk. */
    final CompletableFuture<Void> firstChunkSent = new CompletableFuture<>();

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;

    TestUpstream() throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.incrementAndGet();
                        ch.closeFuture().addListener(f -> closedConnections.incrementAndGet());
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 << 20), new Handler());
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    String apiBase() {
        return "http://127.0.0.1:" + port() + "/v1";
    }

    Received last() {
        return received.get(received.size() - 1);
    }

    @Override
    public void close() {
        server.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    static String chatJson(String model, String content) {
        return "{\"id\":\"chatcmpl-test\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"" + model + "\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + content + "\"},"
                + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":500,\"total_tokens\":1500}}";
    }

    static String chunk(String content) {
        return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                + content + "\"},\"finish_reason\":null}]}\n\n";
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) throws Exception {
            String body = req.content().toString(StandardCharsets.UTF_8);
            received.add(new Received(req.uri(), req.headers().copy(), body));
            if (dropNextRequest) {
                dropNextRequest = false;
                ctx.close();
                return;
            }
            JsonNode json = JSON.readTree(body);
            String model = json.path("model").asText();
            switch (model) {
                case "stall" -> { /* never answers */ }
                case "close-at-once" -> ctx.close();
                case "status-429" -> {
                    FullHttpResponse r = full(HttpResponseStatus.TOO_MANY_REQUESTS,
                            "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}");
                    r.headers().set("retry-after", "7").set("x-ratelimit-remaining-requests", "0");
                    ctx.writeAndFlush(r);
                }
                case "status-500" -> ctx.writeAndFlush(full(HttpResponseStatus.INTERNAL_SERVER_ERROR,
                        "{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}"));
                case "raw-whole", "raw-split" -> writeRaw(ctx, rawAnswer(model), model.equals("raw-split"));
                case "big" -> ctx.writeAndFlush(full(HttpResponseStatus.OK,
                        chatJson(model, "x".repeat(6 * 1024 * 1024))));
                case "stream-gated" -> {
                    ctx.writeAndFlush(streamHead());
                    ctx.writeAndFlush(content(chunk("first"))).addListener(f -> firstChunkSent.complete(null));
                    gate.whenComplete((v, e) -> ctx.executor().execute(() -> {
                        ctx.write(content(chunk("second")));
                        ctx.write(content("data: [DONE]\n\n"));
                        ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                    }));
                }
                case "stream-forever" -> {
                    ctx.channel().closeFuture().addListener(f -> foreverClosed.complete(null));
                    ctx.writeAndFlush(streamHead());
                    tick(ctx, 0);
                }
                case "stream-flood" -> {
                    ctx.writeAndFlush(streamHead());
                    flood(ctx);
                }
                case "stream-reset" -> {
                    ctx.writeAndFlush(streamHead());
                    ctx.writeAndFlush(content(chunk("one") + chunk("two"))).addListener(f -> {
                        ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                        ctx.close(); // RST mid-stream
                    });
                }
                default -> {
                    FullHttpResponse r = full(HttpResponseStatus.OK, chatJson(model, "hello from upstream"));
                    boolean keepAlive = HttpUtil.isKeepAlive(req);
                    HttpUtil.setKeepAlive(r, keepAlive);
                    var f = ctx.writeAndFlush(r);
                    if (!keepAlive) {
                        f.addListener(ChannelFutureListener.CLOSE);
                    }
                }
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable() && ctx.channel().hasAttr(FLOODING)) {
                flood(ctx);
            }
        }

        /**
         * Writes an answer as bytes, past the codec: whole in one write, or in three (inside the status
         * line, inside the body) 30 ms apart, so the gateway reads it in pieces.
         */
        private void writeRaw(ChannelHandlerContext ctx, byte[] answer, boolean split) {
            ChannelHandlerContext wire = ctx.pipeline().context(HttpServerCodec.class);
            if (!split) {
                wire.writeAndFlush(Unpooled.wrappedBuffer(answer));
                return;
            }
            int a = 6;
            int b = answer.length - 10;
            wire.writeAndFlush(Unpooled.wrappedBuffer(answer, 0, a));
            ctx.executor().schedule(() -> wire.writeAndFlush(Unpooled.wrappedBuffer(answer, a, b - a)), 30, TimeUnit.MILLISECONDS);
            ctx.executor().schedule(() -> wire.writeAndFlush(Unpooled.wrappedBuffer(answer, b, answer.length - b)), 60, TimeUnit.MILLISECONDS);
        }

        /** Writes 16 KiB events as fast as the gateway reads them, counting the bytes. */
        private void flood(ChannelHandlerContext ctx) {
            ctx.channel().attr(FLOODING).set(Boolean.TRUE);
            String event = "data: " + "f".repeat(16 * 1024 - 8) + "\n\n";
            while (ctx.channel().isActive() && ctx.channel().isWritable() && floodBytes.get() < (1L << 30)) {
                ctx.write(content(event));
                floodBytes.addAndGet(event.length());
            }
            ctx.flush();
        }

        private void tick(ChannelHandlerContext ctx, int n) {
            if (!ctx.channel().isActive()) {
                return;
            }
            ctx.writeAndFlush(content(chunk("tick" + n)));
            ctx.executor().schedule(() -> tick(ctx, n + 1), 20, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * A plain chat answer with the headers a gateway must not pass on as they are: hop-by-hop ones,
     * an upstream request id and the gateway's own {@code x-nemo-*} names, in mixed case.
     */
    static byte[] rawAnswer(String model) {
        byte[] body = chatJson(model, "hello from upstream").getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: upstream-id\r\n"
                + "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
                + "X-Upstream:  kept \r\nx-nemo-model: upstream/fake\r\n"
                + "X-Nemo-Response-Cost: 9\r\nOpenAI-Processing-Ms: 12\r\nContent-Length: " + body.length + "\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] all = java.util.Arrays.copyOf(h, h.length + body.length);
        System.arraycopy(body, 0, all, h.length, body.length);
        return all;
    }

    private static HttpResponse streamHead() {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
                .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        return head;
    }

    private static DefaultHttpContent content(String s) {
        return new DefaultHttpContent(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8));
    }

    private static FullHttpResponse full(HttpResponseStatus status, String json) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(json, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        return r;
    }
}
