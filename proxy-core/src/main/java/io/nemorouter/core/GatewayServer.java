package io.nemorouter.core;

import io.nemorouter.core.filter.FilterFactory;
import io.nemorouter.core.http.BodyLimitAggregator;
import io.nemorouter.core.http.DispatchHandler;
import io.nemorouter.core.http.ExchangeObserver;
import io.nemorouter.core.http.GatewayRequestDecoder;
import io.nemorouter.core.http.GatewayResponseEncoder;
import io.nemorouter.core.http.WholeRequest;
import io.nemorouter.core.http.WholeRequestDecoder;
import io.nemorouter.core.http.RequestDecoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpDecoderConfig;
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
 * The HTTP front: binds the port, builds each connection's pipeline (idle timer, whole-request
 * fast path, request decoder, response encoder, body limit, {@link RequestDecoder}, the configured
 * filters, dispatch) and drains in-flight requests on shutdown.
 */
public final class GatewayServer {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayServer.class);

    private final GatewayContext context;
    private final EventLoopGroup loops;
    private final int threads;
    private final ChannelGroup connections = new DefaultChannelGroup("clients", GlobalEventExecutor.INSTANCE);
    private final List<ExchangeObserver> observers = new ArrayList<>();
    private final List<ChannelHandler> sharedFilters = new ArrayList<>();
    private final DispatchHandler dispatch;
    private final WholeRequest wholeRequest;
    private volatile boolean draining;
    private Channel listener;

    public GatewayServer(GatewayContext context) {
        this.context = context;
        int threads = context.config.ioThreads > 0 ? context.config.ioThreads : Runtime.getRuntime().availableProcessors();
        this.threads = threads;
        this.loops = new MultiThreadIoEventLoopGroup(threads, context.transport.ioHandlerFactory());
        this.observers.add(context.metrics);
        this.dispatch = new DispatchHandler(context);
        var cfg = context.config;
        this.wholeRequest = new WholeRequest(cfg.maxInitialLineLength, cfg.maxHeaderBytes, cfg.maxBodyBytes);
        for (FilterFactory f : context.pipeline()) {
            ChannelHandler h = f.create(context);
            sharedFilters.add(h.getClass().isAnnotationPresent(ChannelHandler.Sharable.class) ? h : null);
        }
    }

    /** Adds an observer told of every finished exchange (before {@link #start}). */
    public void addObserver(ExchangeObserver observer) {
        observers.add(observer);
    }

    public GatewayServer start() throws InterruptedException {
        var cfg = context.config;
        ServerBootstrap b = new ServerBootstrap()
                .group(loops)
                .channel(context.transport.serverChannel())
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
                                .setMaxInitialLineLength(cfg.maxInitialLineLength).setMaxHeaderSize(cfg.maxHeaderBytes)
                                .setMaxChunkSize(64 * 1024));
                        // ahead of both decoders: every read counts as activity, whichever way it is decoded
                        p.addLast("idle", new IdleStateHandler(cfg.clientIdleTimeout.toMillis(), 0, 0, TimeUnit.MILLISECONDS));
                        p.addLast("whole", new WholeRequestDecoder(wholeRequest, http));
                        p.addLast("http", http);
                        p.addLast("encoder", new GatewayResponseEncoder());
                        p.addLast("aggregator", new BodyLimitAggregator(cfg.maxBodyBytes));
                        p.addLast("decoder", new RequestDecoder(context, observers, () -> draining));
                        List<FilterFactory> factories = context.pipeline();
                        for (int i = 0; i < factories.size(); i++) {
                            ChannelHandler shared = sharedFilters.get(i);
                            p.addLast(factories.get(i).name(), shared != null ? shared : factories.get(i).create(context));
                        }
                        p.addLast("dispatch", dispatch);
                    }
                });
        listener = b.bind(cfg.host, cfg.port).sync().channel();
        LOG.info("Nemo Router listening on {}:{} ({} event loops, {})", cfg.host, port(), threads,
                context.transport.name());
        return this;
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    public boolean draining() {
        return draining;
    }

    /**
     * Stops accepting, lets in-flight requests (streams included) finish for up to {@code grace},
     * closes idle keep-alive connections as they become idle, then stops the event loops.
     * Returns whether everything finished within the grace period.
     */
    public boolean drainAndStop(Duration grace) throws InterruptedException {
        draining = true;
        if (listener != null) {
            listener.close().sync();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        boolean drained;
        while (true) {
            closeIdleConnections();
            drained = context.metrics.inFlight() <= 0;
            if (drained || System.nanoTime() >= deadline) {
                break;
            }
            Thread.sleep(20);
        }
        if (!drained) {
            LOG.warn("drain grace of {} ended with {} requests still in flight; closing them", grace,
                    (long) context.metrics.inFlight());
        }
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        context.upstream.close();
        return drained;
    }

    private void closeIdleConnections() {
        for (Channel ch : connections) {
            ch.eventLoop().execute(() -> {
                RequestDecoder d = (RequestDecoder) ch.pipeline().get("decoder");
                if (d != null && !d.busy()) {
                    ch.close();
                }
            });
        }
    }

    /** Stops at once, without draining (tests). */
    public void stop() {
        draining = true;
        if (listener != null) {
            listener.close().awaitUninterruptibly();
        }
        connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
        context.upstream.close();
    }
}
