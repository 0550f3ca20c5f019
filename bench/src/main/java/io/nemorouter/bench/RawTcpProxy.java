package io.nemorouter.bench;

import io.nemorouter.core.upstream.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;

/**
 * The floor of any Netty proxy on this machine: bytes relayed between a client and the upstream
 * with no HTTP parsing at all (Netty's HexDumpProxy, minus the dump). Benchmarked beside the
 * gateway so its figure splits into "a JVM/Netty hop costs this" and "the gateway's own work".
 * {@code java -cp nemo-bench.jar io.nemorouter.bench.RawTcpProxy LISTEN_PORT UPSTREAM_PORT [THREADS]}
 */
public final class RawTcpProxy {
    public static void main(String[] args) throws InterruptedException {
        int listen = Integer.parseInt(args[0]);
        int upstream = Integer.parseInt(args[1]);
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        Transport t = Transport.select("auto");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, t.ioHandlerFactory());
        new ServerBootstrap().group(group).channel(t.serverChannel())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel client) {
                        client.pipeline().addLast(new Frontend(t, upstream));
                    }
                }).bind("127.0.0.1", listen).sync().channel().closeFuture().sync();
    }

    /** Copies what one side reads to the other side, flushing at the end of each read. */
    private static class Relay extends ChannelInboundHandlerAdapter {
        protected Channel other;

        Relay(Channel other) {
            this.other = other;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            other.write(msg, other.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            other.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (other != null) {
                other.close();
            }
        }
    }

    /** The client side: opens the upstream connection on the same event loop, then relays. */
    private static final class Frontend extends Relay {
        private final Transport transport;
        private final int upstreamPort;

        Frontend(Transport transport, int upstreamPort) {
            super(null);
            this.transport = transport;
            this.upstreamPort = upstreamPort;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel client = ctx.channel();
            new Bootstrap().group(client.eventLoop()).channel(transport.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new Relay(client))
                    .connect("127.0.0.1", upstreamPort).addListener((ChannelFutureListener) f -> {
                        if (f.isSuccess()) {
                            other = f.channel();
                            client.config().setAutoRead(true);
                        } else {
                            client.close();
                        }
                    });
        }
    }
}
