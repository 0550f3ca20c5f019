package io.nemorouter.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
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
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An upstream for tests, on an ephemeral loopback port, whose answers are scripted per
 * {@code model}: an OpenAI-compatible chat answer or stream by default, or whatever a
 * {@link Script} says (a status, a stream of any events, a connection closed without an answer,
 * an API of another shape). It records every request it received, so a test can check what the
 * gateway sent.
 */
public final class ScriptableUpstream implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A request as received. */
    public record Request(String method, String uri, HttpHeaders headers, String body) {
        /** The body as JSON (a test's upstreams get JSON). */
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** How to answer one request. */
    @FunctionalInterface
    public interface Script {
        void answer(Request request, Reply reply);
    }

    /** The ways to answer. Each ends the answer except {@link #header} and {@link #event}. */
    public interface Reply {
        /** A header for the answer that follows. */
        Reply header(String name, String value);

        /** A whole answer with a JSON body. */
        void json(int status, String body);

        /** Starts an event stream (200, {@code text/event-stream}); then {@link #event}s and {@link #end}. */
        Reply startStream();

        /** One event of the stream, as text ({@code data: ...\n\n}), sent and flushed at once. */
        Reply event(String event);

        /** Ends the stream. */
        void end();

        /** Runs {@code then} after {@code delay}, on this connection's thread. */
        void after(Duration delay, Runnable then);

        /** Closes the connection without an answer (or mid-answer). */
        void close();

        /** Never answers. */
        default void stall() {
        }
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;
    private final Map<String, Script> scripts = new ConcurrentHashMap<>();
    private final List<Request> received = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    private volatile Script otherwise = chat("hello from upstream");

    public ScriptableUpstream() throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.incrementAndGet();
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 << 20), new Handler());
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    /** Answers requests for {@code model} with {@code script}. */
    public ScriptableUpstream on(String model, Script script) {
        scripts.put(model, script);
        return this;
    }

    /** Answers requests for any other model with {@code script} (by default: {@link #chat} "hello from upstream"). */
    public ScriptableUpstream otherwise(Script script) {
        this.otherwise = script;
        return this;
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** {@code http://127.0.0.1:<port>/v1}: the {@code api_base} of a catalog entry served here. */
    public String apiBase() {
        return "http://127.0.0.1:" + port() + "/v1";
    }

    /** A catalog entry (HOCON) named {@code name}, served here as {@code model} by the openai provider. */
    public String model(String name, String model) {
        return "{ name = \"" + name + "\", provider = openai, api_base = \"" + apiBase() + "\", model = \"" + model
                + "\", api_key = \"sk-test\", input_cost_per_mtok = 1, output_cost_per_mtok = 2 }";
    }

    public List<Request> received() {
        return received;
    }

    /** The last request received. */
    public Request last() {
        return received.get(received.size() - 1);
    }

    /** Connections the gateway opened so far. */
    public int connections() {
        return connections.get();
    }

    @Override
    public void close() {
        server.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    // ---- ready-made scripts ----------------------------------------------------------------------

    /**
     * Each call answers with its number {@code n} (counted in {@code calls}): chat as "answer n" (10 +
     * 5 tokens, streamed in two chunks when asked), embeddings as {@code [0.n, 0.2]} (10 tokens); so a
     * test tells a cached answer from a fresh one.
     */
    public static Script numberedAnswers(java.util.concurrent.atomic.AtomicInteger calls) {
        return (request, reply) -> {
            int n = calls.incrementAndGet();
            if (request.uri().endsWith("/embeddings")) {
                reply.json(200, "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0." + n
                        + ",0.2]}],\"model\":\"e\",\"usage\":{\"prompt_tokens\":10,\"total_tokens\":10}}");
            } else if (request.json().path("stream").asBoolean()) {
                chatStream("answer ", String.valueOf(n)).answer(request, reply);
            } else {
                chat("answer " + n).answer(request, reply);
            }
        };
    }

    /** An OpenAI {@code chat.completion} with {@code content} and usage 10 prompt + 5 completion tokens. */
    public static Script chat(String content) {
        return (request, reply) -> reply.json(200, chatJson(request.json().path("model").asText(), content));
    }

    /**
     * An OpenAI chat stream of {@code pieces}, one chunk each; the usage event (10 + 5 tokens) when
     * the request asked with {@code stream_options.include_usage}; then {@code [DONE]}.
     */
    public static Script chatStream(String... pieces) {
        return (request, reply) -> {
            boolean usage = request.json().at("/stream_options/include_usage").asBoolean(false);
            reply.startStream();
            for (String piece : pieces) {
                reply.event(chunk(piece, usage));
            }
            if (usage) {
                reply.event("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],"
                        + "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}\n\n");
            }
            reply.event("data: [DONE]\n\n");
            reply.end();
        };
    }

    /** An error answer in OpenAI's envelope with {@code status}, and {@code Retry-After} when not null. */
    public static Script status(int status, String retryAfter) {
        return (request, reply) -> {
            if (retryAfter != null) {
                reply.header("retry-after", retryAfter);
            }
            reply.json(status, "{\"error\":{\"message\":\"scripted " + status + "\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
        };
    }

    /** Closes the connection without answering. */
    public static Script closeWithoutAnswer() {
        return (request, reply) -> reply.close();
    }

    public static String chatJson(String model, String content) {
        return "{\"id\":\"chatcmpl-test\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"" + model + "\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + content + "\"},"
                + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}";
    }

    public static String chunk(String content, boolean usageNull) {
        return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                + content + "\"},\"finish_reason\":null}]" + (usageNull ? ",\"usage\":null" : "") + "}\n\n";
    }

    // ---- the server ------------------------------------------------------------------------------

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            Request r = new Request(req.method().name(), req.uri(), req.headers().copy(),
                    req.content().toString(StandardCharsets.UTF_8));
            received.add(r);
            String model;
            try {
                model = r.json().path("model").asText();
            } catch (UncheckedIOException notJson) {
                model = "";
            }
            scripts.getOrDefault(model, otherwise).answer(r, new ChannelReply(ctx));
        }
    }

    private static final class ChannelReply implements Reply {
        private final ChannelHandlerContext ctx;
        private final List<String[]> headers = new ArrayList<>();

        ChannelReply(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public Reply header(String name, String value) {
            headers.add(new String[]{name, value});
            return this;
        }

        @Override
        public void json(int status, String body) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
            headers.forEach(h -> r.headers().add(h[0], h[1]));
            ctx.writeAndFlush(r);
        }

        @Override
        public Reply startStream() {
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
                    .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            headers.forEach(h -> head.headers().add(h[0], h[1]));
            ctx.writeAndFlush(head);
            return this;
        }

        @Override
        public Reply event(String event) {
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(event, StandardCharsets.UTF_8)));
            return this;
        }

        @Override
        public void end() {
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        }

        @Override
        public void after(Duration delay, Runnable then) {
            ctx.executor().schedule(then, delay.toNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public void close() {
            ctx.close();
        }
    }
}
