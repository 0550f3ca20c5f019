package io.nemorouter.providers.standin;

import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.core.upstream.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
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

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for a provider's own API, on loopback, for tests and demos without a real account:
 * Anthropic's Messages API ({@link AnthropicStandIn}), Azure OpenAI's URL shape ({@link AzureStandIn}), the
 * Gemini API and Vertex AI ({@link GeminiStandIn}, with Vertex's token endpoint) answered by a deterministic fake model (text
 * that echoes the prompt, tool calls when tools are offered, usage, the provider's stream events and
 * error shapes), written from the provider's public API reference. Model names script failures:
 * {@code ...-fail-503} answers that status, {@code ...-midstream-error} breaks its stream with the
 * API's error event. Every request is kept ({@link #requests}) so a test can check what the gateway sent.
 *
 * <pre>java -cp nemo-router.jar io.nemorouter.providers.standin.StandInServer --api anthropic|gemini|vertex --port 9100 [--key K] [--chunk-delay-ms N] [--token-ttl-s N]</pre>
 */
public final class StandInServer implements AutoCloseable {
    /** A request as the stand-in received it. */
    public record Request(String method, String uri, HttpHeaders headers, String body) {
        public JsonNode json() {
            try {
                return OpenAiJson.MAPPER.readTree(body);
            } catch (IOException e) {
                return OpenAiJson.MAPPER.createObjectNode();
            }
        }
    }

    /** One provider's API. */
    interface Api {
        void answer(Request request, Reply reply);
    }

    /** How an {@link Api} answers. */
    interface Reply {
        void json(int status, String body);

        /** A server-sent event stream: each element one whole event, sent {@code delayMillis} apart. */
        void events(List<String> events, long delayMillis);
    }

    private static final String APIS = "anthropic, azure, gemini, vertex";
    private static final String USAGE = "usage: StandInServer --api anthropic|azure|gemini|vertex [--host H] [--port N] [--key K]"
            + " [--chunk-delay-ms N] [--token-ttl-s N]\n  --key: the API key wanted (anthropic, gemini); for vertex, the path of"
            + " the service account's JSON key file whose tokens /token mints";

    private final Api handler;
    private final EventLoopGroup loops;
    private final Channel listener;
    private final List<Request> requests = new CopyOnWriteArrayList<>();

    public StandInServer(String api, String key, long chunkDelayMillis) throws InterruptedException {
        this("127.0.0.1", 0, api, key, chunkDelayMillis);
    }

    public StandInServer(String host, int port, String api, String key, long chunkDelayMillis) throws InterruptedException {
        handler = switch (api) {
            case "anthropic" -> new AnthropicStandIn(key, chunkDelayMillis);
            case "azure" -> new AzureStandIn(key);
            case "gemini" -> new GeminiStandIn(false, key, chunkDelayMillis);
            case "vertex" -> new GeminiStandIn(true, key, chunkDelayMillis);
            default -> throw new IllegalArgumentException("unknown stand-in API: " + api + " (" + APIS + ")");
        };
        Transport transport = Transport.select("auto");
        loops = new MultiThreadIoEventLoopGroup(1, transport.ioHandlerFactory());
        listener = new ServerBootstrap().group(loops).channel(transport.serverChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 << 20), new Handler(handler));
                    }
                }).bind(host, port).sync().channel();
    }

    /**
     * How long the tokens the {@code vertex} stand-in mints at {@code /token} live ({@code expires_in},
     * 3600 by default): short, to make a client refresh.
     */
    public StandInServer tokenLifetime(long seconds) {
        if (!(handler instanceof GeminiStandIn vertex)) {
            throw new IllegalStateException("only the vertex stand-in mints tokens");
        }
        vertex.tokenLifetimeSeconds = seconds;
        return this;
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** Every request so far, oldest first. */
    public List<Request> requests() {
        return requests;
    }

    @Override
    public void close() {
        listener.close().awaitUninterruptibly();
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Api api;

        Handler(Api api) {
            this.api = api;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            Request r = new Request(req.method().name(), req.uri(), req.headers().copy(), req.content().toString(StandardCharsets.UTF_8));
            requests.add(r);
            api.answer(r, new Reply() {
                @Override
                public void json(int status, String body) {
                    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                            Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
                    res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                            .setInt(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes());
                    HttpUtil.setKeepAlive(res, keepAlive);
                    var f = ctx.writeAndFlush(res);
                    if (!keepAlive) {
                        f.addListener(ChannelFutureListener.CLOSE);
                    }
                }

                @Override
                public void events(List<String> events, long delayMillis) {
                    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                    head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                            .set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
                    HttpUtil.setTransferEncodingChunked(head, true);
                    HttpUtil.setKeepAlive(head, keepAlive);
                    ctx.writeAndFlush(head);
                    send(ctx, events, 0, delayMillis, keepAlive);
                }
            });
        }

        private void send(ChannelHandlerContext ctx, List<String> events, int i, long delayMillis, boolean keepAlive) {
            if (!ctx.channel().isActive()) {
                return;
            }
            if (i == events.size()) {
                var f = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                if (!keepAlive) {
                    f.addListener(ChannelFutureListener.CLOSE);
                }
                return;
            }
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(events.get(i), StandardCharsets.UTF_8)));
            if (delayMillis > 0) {
                ctx.executor().schedule(() -> send(ctx, events, i + 1, delayMillis, keepAlive), delayMillis, TimeUnit.MILLISECONDS);
            } else {
                send(ctx, events, i + 1, 0, keepAlive);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        String api = null;
        String host = "127.0.0.1";
        int port = 0;
        String key = null;
        long delay = 0;
        long tokenSeconds = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--api" -> api = args[++i];
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--key" -> key = args[++i];
                case "--chunk-delay-ms" -> delay = Long.parseLong(args[++i]);
                case "--token-ttl-s" -> tokenSeconds = Long.parseLong(args[++i]);
                default -> {
                    System.err.println(USAGE);
                    System.exit(2);
                }
            }
        }
        if (api == null) {
            System.err.println(USAGE);
            System.exit(2);
        }
        StandInServer server = new StandInServer(host, port, api, key, delay);
        if (tokenSeconds > 0) {
            server.tokenLifetime(tokenSeconds);
        }
        System.out.println(api + " stand-in listening on " + host + ":" + server.port());
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        Thread.currentThread().join();
    }
}
