package io.nemorouter.bench;

import io.nemorouter.core.Transport;
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

    private static final class Frontend extends ChannelInboundHandlerAdapter {
        private final Transport transport;
        private final int upstreamPort;
        private Channel upstream;

        Frontend(Transport transport, int upstreamPort) {
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
                            upstream = f.channel();
                            client.config().setAutoRead(true);
                        } else {
                            client.close();
                        }
                    });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            upstream.write(msg, upstream.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            upstream.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (upstream != null) {
                upstream.close();
            }
        }
    }

    private static final class Relay extends ChannelInboundHandlerAdapter {
        private final Channel client;

        Relay(Channel client) {
            this.client = client;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            client.write(msg, client.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            client.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            client.close();
        }
    }
}
