package io.nemorouter.core.upstream;

import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.AttemptFailure;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.internal.http1.WholeAnswerDecoder;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;

import javax.net.ssl.SSLException;
import java.net.ConnectException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Sends requests upstream over keep-alive connections pooled per event loop and per origin.
 * A connection is opened on the client channel's own event loop, so the relay never hops
 * threads and the pools need no locks: each loop only ever touches its own map.
 * DNS is resolved asynchronously; TLS verifies certificates and host names.
 */
public final class UpstreamClient {
    /** Client headers never forwarded: hop-by-hop, credentials for the gateway, and what we set ourselves. */
    private static final AsciiString[] NOT_FORWARDED = {
            AsciiString.cached("host"), AsciiString.cached("connection"), AsciiString.cached("keep-alive"),
            AsciiString.cached("proxy-connection"), AsciiString.cached("transfer-encoding"), AsciiString.cached("te"),
            AsciiString.cached("trailer"), AsciiString.cached("upgrade"), AsciiString.cached("content-length"),
            AsciiString.cached("authorization"), AsciiString.cached("api-key"), AsciiString.cached("x-api-key"),
            AsciiString.cached("accept-encoding"), AsciiString.cached("content-type"), AsciiString.cached("cookie"),
            AsciiString.cached("expect"), AsciiString.cached("proxy-authorization"), AsciiString.cached("x-request-id")};

    private static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");

    private final GatewayConfig config;
    private final Transport transport;
    private final SslContext ssl;
    private final DnsAddressResolverGroup resolver;
    /** Idle connections by their relays, which know their channels: no pipeline lookup per request. */
    private final FastThreadLocal<Map<Origin, ArrayDeque<UpstreamRelay>>> idle = new FastThreadLocal<>() {
        @Override
        protected Map<Origin, ArrayDeque<UpstreamRelay>> initialValue() {
            return new HashMap<>();
        }
    };

    public UpstreamClient(GatewayConfig config, Transport transport) {
        this.config = config;
        this.transport = transport;
        try {
            SslContextBuilder tls = SslContextBuilder.forClient().endpointIdentificationAlgorithm("HTTPS");
            if (config.upstreamCaFile != null) {
                tls.trustManager(new java.io.File(config.upstreamCaFile));
            }
            this.ssl = tls.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new io.nemorouter.core.config.ConfigError("cannot set up TLS for upstreams"
                    + (config.upstreamCaFile != null ? " with nemo.upstream.ca_file " + config.upstreamCaFile : "") + ": " + e.getMessage());
        }
        this.resolver = new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                .datagramChannelType(transport.datagramChannel())
                .socketChannelType(transport.socketChannel()));
    }

    /**
     * A POST of {@code body} (ownership passes to the request) whose request line and Host header are
     * {@code preamble} ({@link UpstreamRequest#preamble}), with the client's end-to-end headers; the
     * provider adds its own credentials before {@link #send}.
     */
    public UpstreamRequest newRequest(Exchange ex, byte[] preamble, ByteBuf body) {
        return new UpstreamRequest(preamble, body).clientHeaders(ex.requestHeaders(), ex.upstreamHeaders())
                .headerTrusted(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .headerTrusted(X_REQUEST_ID, ex.requestId());
    }

    /**
     * Whether a client's header of this name goes upstream. Those that do not (hop-by-hop, the
     * client's credentials for the gateway, what the gateway and providers set) cannot be set with
     * {@link Exchange#upstreamHeader} either.
     */
    public static boolean forwarded(CharSequence name) {
        for (AsciiString n : NOT_FORWARDED) {
            if (n.length() == name.length() && n.contentEqualsIgnoreCase(name)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Sends {@code request} for {@code attempt}, over a pooled connection to {@code origin} or a new
     * one; its answer, or why there is none, is reported to the attempt by {@link UpstreamRelay}.
     */
    public void send(Attempt attempt, Origin origin, UpstreamRequest upstreamRequest) {
        ByteBuf request = upstreamRequest.finish(attempt.exchange().alloc());
        UpstreamRelay pooled = pollIdle(origin);
        if (pooled != null) {
            dispatch(attempt, origin, request, pooled, true);
        } else {
            connect(attempt, origin, request);
        }
    }

    void connect(Attempt attempt, Origin origin, ByteBuf request) {
        UpstreamRelay relay = new UpstreamRelay(UpstreamClient.this, origin, config);
        Bootstrap b = new Bootstrap()
                .group(attempt.exchange().eventLoop())
                .channel(transport.socketChannel())
                .resolver(resolver)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, config.connectTimeout.toMillis()))
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ChannelPipeline p = ch.pipeline();
                        if (origin.tls()) {
                            SslHandler tls = ssl.newHandler(ch.alloc(), origin.host(), origin.port());
                            p.addLast("tls", tls);
                        }
                        // ahead of both decoders: every read counts as activity, whichever way it is decoded
                        p.addLast("idle", new IdleStateHandler(config.upstreamIdleTimeout.toMillis(), 0, 0, TimeUnit.MILLISECONDS));
                        p.addLast("whole", new WholeAnswerDecoder(relay, config.maxBufferedResponseBytes));
                        // requests go out as bytes (UpstreamRequest): only answers need the codec
                        p.addLast("http", new HttpResponseDecoder(new HttpDecoderConfig().setMaxInitialLineLength(4096)
                                .setMaxHeaderSize(64 * 1024).setMaxChunkSize(16 * 1024).setValidateHeaders(false)));
                        p.addLast("relay", relay);
                    }
                });
        b.connect(origin.host(), origin.port()).addListener((ChannelFuture f) -> {
            if (attempt.abandoned()) {
                request.release();
                if (f.isSuccess()) {
                    release(origin, relay); // the client left while we connected: keep the connection
                }
                return;
            }
            if (!f.isSuccess()) {
                request.release();
                attempt.failed(AttemptFailure.retryable(connectError(origin, f.cause())));
                return;
            }
            dispatch(attempt, origin, request, relay, false);
        });
    }

    private void dispatch(Attempt attempt, Origin origin, ByteBuf request, UpstreamRelay relay, boolean reused) {
        Channel ch = relay.channel();
        // a pooled connection may have been closed by the server a moment ago: keep a copy to retry once
        relay.bind(attempt, origin, reused ? request.retainedDuplicate() : null);
        attempt.upstreamSent(ch);
        ch.writeAndFlush(request, ch.voidPromise());
    }

    private UpstreamRelay pollIdle(Origin key) {
        ArrayDeque<UpstreamRelay> q = idle.get().get(key);
        if (q == null) {
            return null;
        }
        UpstreamRelay relay;
        while ((relay = q.pollFirst()) != null) {
            if (relay.channel().isActive()) {
                return relay;
            }
        }
        return null;
    }

    /** Returns a connection after a complete keep-alive answer; called on its event loop. */
    void release(Origin key, UpstreamRelay relay) {
        Channel ch = relay.channel();
        if (!ch.isActive()) {
            return;
        }
        ArrayDeque<UpstreamRelay> q = idle.get().computeIfAbsent(key, k -> new ArrayDeque<>());
        if (q.size() >= config.maxIdlePerOrigin) {
            ch.close();
            return;
        }
        q.addFirst(relay); // most recently used first: warm connections, and the cold ones age out
    }

    private static OpenAiError connectError(Origin origin, Throwable cause) {
        String where = origin.hostHeader();
        if (cause instanceof io.netty.channel.ConnectTimeoutException) {
            return OpenAiError.upstream(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_timeout",
                    "Timed out connecting to the upstream " + where + ".");
        }
        String reason = cause instanceof ConnectException ? "connection refused" : String.valueOf(cause.getMessage());
        return OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_unreachable",
                "Could not connect to the upstream " + where + ": " + reason + ".");
    }

    public void close() {
        resolver.close();
    }
}
