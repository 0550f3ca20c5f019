package io.nemorouter.core.server;

import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.engine.GatewayRuntime;
import io.nemorouter.core.engine.ServerExchange;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.internal.http1.BodyLimitAggregator;
import io.nemorouter.core.internal.http1.GatewayRequestDecoder;
import io.nemorouter.core.internal.http1.GatewayResponseEncoder;
import io.nemorouter.core.internal.http1.WholeRequest;
import io.nemorouter.core.internal.http1.WholeRequestDecoder;
import io.nemorouter.core.upstream.Transport;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.RequestIds;
import io.nemorouter.core.provider.ProviderFactory;
import io.nemorouter.core.upstream.UpstreamClient;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The gateway: its event loops, the runtime (providers, extensions, filters, routing), and the
 * HTTP front on its port. Each connection's pipeline is the idle timer, the whole-request fast
 * path, Netty's request decoder, the response encoder, the body limit and a
 * {@link ConnectionHandler}; filters and providers run inside that handler. On shutdown it drains
 * in-flight requests, then closes the extensions.
 *
 * <pre>{@code
 * GatewayServer gateway = GatewayServer.builder(ConfigLoader.load(file, Map.of())).start();
 * }</pre>
 */
public final class GatewayServer {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayServer.class);

    private final GatewayConfig config;
    private final Transport transport;
    private final EventLoopGroup loops;
    private final int threads;
    private final UpstreamClient upstream;
    private final GatewayRuntime runtime;
    private final ChannelGroup connections = new DefaultChannelGroup("clients", GlobalEventExecutor.INSTANCE);
    private final WholeRequest wholeRequest;
    private volatile boolean draining;
    /** One listening socket per event loop on epoll (SO_REUSEPORT), else one for all of them. */
    private final List<Channel> listeners = new ArrayList<>();
    private String host;

    /** Builds a gateway from a config, with extensions and providers given in code besides those on the class path. */
    public static final class Builder {
        private final GatewayConfig config;
        private final List<Extension> extensions = new ArrayList<>();
        private final List<ProviderFactory> providers = new ArrayList<>();
        private java.util.Set<String> onlyExtensions;

        private Builder(GatewayConfig config) {
            this.config = config;
        }

        /** Adds an extension (replacing one of the same name found on the class path). */
        public Builder extension(Extension extension) {
            extensions.add(extension);
            return this;
        }

        /** Adds a provider (replacing one of the same name found on the class path). */
        public Builder provider(ProviderFactory provider) {
            providers.add(provider);
            return this;
        }

        /**
         * Starts only the extensions named (those enabled in the config): for a private gateway,
         * such as the start-up warm-up, that must not open the stores or see the state of the others.
         */
        public Builder onlyExtensions(String... names) {
            onlyExtensions = java.util.Set.of(names);
            return this;
        }

        /**
         * Starts the runtime (extensions included) and opens the port.
         *
         * @throws io.nemorouter.core.config.ConfigError for a config the gateway cannot run with
         */
        public GatewayServer start() throws Exception {
            return new GatewayServer(config, extensions, providers, onlyExtensions).start();
        }
    }

    public static Builder builder(GatewayConfig config) {
        return new Builder(config);
    }

    private GatewayServer(GatewayConfig config, List<Extension> extensions, List<ProviderFactory> providers,
                          java.util.Set<String> onlyExtensions) throws Exception {
        this.config = config;
        this.transport = Transport.select(config.transport);
        this.threads = config.ioThreads > 0 ? config.ioThreads : Runtime.getRuntime().availableProcessors();
        this.loops = new MultiThreadIoEventLoopGroup(threads, transport.ioHandlerFactory());
        this.wholeRequest = new WholeRequest(config.maxInitialLineLength, config.maxHeaderBytes, config.maxBodyBytes);
        UpstreamClient client = null;
        try {
            client = new UpstreamClient(config, transport);
            this.upstream = client;
            this.runtime = GatewayRuntime.start(config, loops, client, extensions, providers, onlyExtensions);
        } catch (Exception | Error e) {
            if (client != null) {
                client.close();
            }
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    /**
     * Seconds the kernel holds a new connection until its first bytes arrive (TCP_DEFER_ACCEPT): the
     * accept, the pipeline and the first read then run in one wake-up, and that work no longer
     * competes for the CPU with the client that is still writing its request. HTTP clients speak first.
     */
    private static final int DEFER_ACCEPT_SECONDS = 1;

    private GatewayServer start() throws Exception {
        boolean perLoop = transport.name().equals("epoll") && threads > 1;
        try {
            host = host();
            if (!perLoop) {
                listeners.add(bootstrap(loops).bind(host, config.port).sync().channel());
            } else {
                refuseIfTaken(host, config.port);
                // Each loop accepts on its own socket and keeps the connections it accepts: a new client's
                // first request is read on the thread that accepted it, with no hand-over to another loop
                // (a task and a wake-up, felt in the first byte of every fresh connection).
                int port = config.port;
                for (io.netty.util.concurrent.EventExecutor e : loops) {
                    EventLoopGroup loop = (io.netty.channel.EventLoop) e;
                    Channel ch = bootstrap(loop).option(io.netty.channel.epoll.EpollChannelOption.SO_REUSEPORT, true)
                            .option(io.netty.channel.epoll.EpollChannelOption.TCP_DEFER_ACCEPT, DEFER_ACCEPT_SECONDS)
                            .bind(host, port).sync().channel();
                    listeners.add(ch);
                    port = ((InetSocketAddress) ch.localAddress()).getPort();
                }
            }
        } catch (Exception | Error e) {
            stop();
            throw e;
        }
        LOG.info("Nemo Router listening on {}:{} ({} event loops, {}{})", host, port(), threads, transport.name(),
                perLoop ? ", a socket per loop" : "");
        return this;
    }

    private ServerBootstrap bootstrap(EventLoopGroup group) {
        return new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.add(ch);
                        ChannelPipeline p = ch.pipeline();
                        GatewayRequestDecoder http = new GatewayRequestDecoder(new HttpDecoderConfig()
                                .setMaxInitialLineLength(config.maxInitialLineLength).setMaxHeaderSize(config.maxHeaderBytes)
                                .setMaxChunkSize(64 * 1024));
                        // ahead of both decoders: every read counts as activity, whichever way it is decoded
                        p.addLast("idle", new IdleStateHandler(config.clientIdleTimeout.toMillis(), 0, 0, TimeUnit.MILLISECONDS));
                        p.addLast("whole", new WholeRequestDecoder(wholeRequest, http));
                        p.addLast("http", http);
                        p.addLast("encoder", new GatewayResponseEncoder());
                        p.addLast("aggregator", new BodyLimitAggregator(config.maxBodyBytes, GatewayServer.this::tooLarge));
                        p.addLast("connection", new ConnectionHandler(runtime, () -> draining));
                    }
                });
    }

    /**
     * SO_REUSEPORT would let a second gateway (or any program of the same user asking for it) share
     * the port and take half the connections; a plain bind first keeps "address already in use" an error.
     */
    private static void refuseIfTaken(String host, int port) throws java.io.IOException {
        if (port == 0) {
            return;
        }
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(host, port));
        }
    }

    /**
     * Where to listen: the configured host, or loopback when an extension found the gateway open to
     * anyone and the user did not choose a host (then the default, all interfaces, would expose it).
     */
    private String host() {
        java.util.List<String> open = runtime.openWarnings();
        if (open.isEmpty()) {
            return config.host;
        }
        for (String w : open) {
            LOG.warn("{}", w);
        }
        if (config.hostSetByUser) {
            LOG.warn("listening on {} as nemo.server.host says, although the gateway is open", config.host);
            return config.host;
        }
        LOG.warn("listening on 127.0.0.1 only, since the gateway is open; set nemo.server.host to listen elsewhere");
        return "127.0.0.1";
    }

    /**
     * The answer to a body over the limit: enveloped like every gateway error, with the client's
     * request id (or a new one), since no exchange exists for a request refused before its body.
     */
    private FullHttpResponse tooLarge(HttpMessage request) {
        FullHttpResponse r = new OpenAiError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "invalid_request_error",
                "request_too_large", null, "The request body is larger than the gateway's limit of " + config.maxBodyBytes
                + " bytes (nemo.server.max_body_size).").toResponse(io.netty.buffer.ByteBufAllocator.DEFAULT);
        String clientId = request.headers().get(ServerExchange.X_REQUEST_ID);
        r.headers().set(ServerExchange.X_REQUEST_ID, RequestIds.acceptable(clientId) ? clientId : RequestIds.next());
        return r;
    }

    public int port() {
        return address().getPort();
    }

    /** Where it listens (loopback when an extension found it open and no host was set). */
    public InetSocketAddress address() {
        return (InetSocketAddress) listeners.get(0).localAddress();
    }

    public GatewayRuntime runtime() {
        return runtime;
    }

    public boolean draining() {
        return draining;
    }

    /**
     * Stops accepting, lets in-flight requests (streams included) finish for up to {@code grace},
     * closes idle keep-alive connections as they become idle, then stops the event loops and closes
     * the extensions. Returns whether everything finished within the grace period.
     */
    public boolean drainAndStop(Duration grace) throws InterruptedException {
        draining = true;
        for (Channel l : listeners) {
            l.close().sync();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        boolean drained;
        while (true) {
            closeIdleConnections();
            drained = runtime.metrics.inFlight() <= 0;
            if (drained || System.nanoTime() >= deadline) {
                break;
            }
            Thread.sleep(20);
        }
        if (!drained) {
            LOG.warn("drain grace of {} ended with {} requests still in flight; closing them", grace,
                    (long) runtime.metrics.inFlight());
        }
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        upstream.close();
        runtime.close();
        return drained;
    }

    private void closeIdleConnections() {
        for (Channel ch : connections) {
            ch.eventLoop().execute(() -> {
                ConnectionHandler c = (ConnectionHandler) ch.pipeline().get("connection");
                if (c != null && !c.busy()) {
                    ch.close();
                }
            });
        }
    }

    /** Stops at once, without draining (tests). */
    public void stop() {
        draining = true;
        for (Channel l : listeners) {
            l.close().awaitUninterruptibly();
        }
        connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
        upstream.close();
        runtime.close();
    }
}
