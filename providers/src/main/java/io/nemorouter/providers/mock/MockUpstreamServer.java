package io.nemorouter.providers.mock;

import io.nemorouter.core.upstream.Transport;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.RequestBody;
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
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The mock LLM as a standalone OpenAI-compatible HTTP server: the "fast upstream" the
 * benchmarks call directly and through the gateway, and a stand-in for trying
 * {@code provider = openai} without a real key.
 *
 * <pre>java -cp nemo-router.jar io.nemorouter.providers.mock.MockUpstreamServer --port 9000 [--chunks 8] [--chunk-delay-ms 0] [--threads 1]</pre>
 */
public final class MockUpstreamServer implements AutoCloseable {
    private final EventLoopGroup loops;
    private final Channel listener;

    public MockUpstreamServer(String host, int port, MockSettings settings, int threads) throws InterruptedException {
        Transport transport = Transport.select("auto");
        MockLlm llm = new MockLlm(settings);
        loops = new MultiThreadIoEventLoopGroup(threads, transport.ioHandlerFactory());
        listener = new ServerBootstrap().group(loops).channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 << 20), new Handler(llm));
                    }
                }).bind(host, port).sync().channel();
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    @Override
    public void close() {
        listener.close().awaitUninterruptibly();
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final MockLlm llm;

        Handler(MockLlm llm) {
            this.llm = llm;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            Endpoint e = Endpoint.ofPath(req.uri());
            if (e == Endpoint.MODELS) {
                send(ctx, keepAlive, text(HttpResponseStatus.OK, "{\"object\":\"list\",\"data\":[]}"));
                return;
            }
            if (e != Endpoint.CHAT_COMPLETIONS && e != Endpoint.EMBEDDINGS) {
                send(ctx, keepAlive, new OpenAiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error", null, null,
                        "Invalid URL (" + req.method() + " " + req.uri() + ")").toResponse(ctx.alloc()));
                return;
            }
            RequestBody f = RequestBody.read(req.content());
            OpenAiError err = f.error();
            if (err != null) {
                send(ctx, keepAlive, err.toResponse(ctx.alloc()));
                return;
            }
            MockAnswer a = MockAnswer.answer(llm, ctx.alloc(), e == Endpoint.EMBEDDINGS, req.content(),
                    f.model(), f.stream(), f.includeUsage(), f.includeUsage());
            if (a instanceof MockAnswer.Complete c) {
                send(ctx, keepAlive, c.response());
            } else if (a instanceof MockAnswer.Stream s) {
                HttpResponse head = s.head();
                HttpUtil.setKeepAlive(head, keepAlive);
                ctx.write(head);
                s.play(ctx.channel().eventLoop(), llm.settings().chunkDelay().toNanos(), new MockAnswer.EventSink() {
                    @Override
                    public boolean open() {
                        return ctx.channel().isActive();
                    }

                    @Override
                    public void event(byte[] ev) {
                        ctx.write(new DefaultHttpContent(ctx.alloc().buffer(ev.length).writeBytes(ev)));
                    }

                    @Override
                    public void flush() {
                        ctx.flush();
                    }

                    @Override
                    public void end() {
                        var f = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                        if (!keepAlive) {
                            f.addListener(ChannelFutureListener.CLOSE);
                        }
                    }
                }, 0);
            }
        }

        private static FullHttpResponse text(HttpResponseStatus status, String json) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(json, StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
            return r;
        }

        private static void send(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse r) {
            r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
            HttpUtil.setKeepAlive(r, keepAlive);
            var f = ctx.writeAndFlush(r);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        int port = 9000;
        int chunks = MockSettings.DEFAULT.chunks();
        long delayMs = 0;
        int threads = 1;
        String host = "127.0.0.1";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--host" -> host = args[++i];
                case "--chunks" -> chunks = Integer.parseInt(args[++i]);
                case "--chunk-delay-ms" -> delayMs = Long.parseLong(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: MockUpstreamServer [--host H] [--port N] [--chunks N] [--chunk-delay-ms N] [--threads N]");
                    System.exit(2);
                }
            }
        }
        MockSettings s = new MockSettings(chunks, Duration.ofMillis(delayMs), Duration.ZERO, MockSettings.DEFAULT.dimensions(),
                MockSettings.Kind.AUTO, MockFaults.NONE);
        MockUpstreamServer server = new MockUpstreamServer(host, port, s, threads);
        System.out.println("mock upstream listening on " + host + ":" + server.port());
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        Thread.currentThread().join();
    }
}
