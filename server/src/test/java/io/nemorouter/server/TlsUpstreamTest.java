package io.nemorouter.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * https upstreams: the certificate chain and the host name are verified. Certificates are made
 * at test time with the JDK's keytool: one for "localhost", served on 127.0.0.1.
 */
class TlsUpstreamTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    private static EventLoopGroup group;
    private static int port;
    private static Path caPem;

    @BeforeAll
    static void start() throws Exception {
        Path store = dir.resolve("upstream.p12");
        keytool("-genkeypair", "-alias", "up", "-keyalg", "EC", "-dname", "CN=localhost", "-validity", "2",
                "-ext", "san=dns:localhost", "-keystore", store.toString(), "-storepass", "changeit", "-storetype", "PKCS12");
        caPem = dir.resolve("upstream.pem");
        keytool("-exportcert", "-rfc", "-alias", "up", "-keystore", store.toString(), "-storepass", "changeit", "-file", caPem.toString());
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SslContext tls = SslContextBuilder.forServer(kmf).build();
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(tls.newHandler(ch.alloc()), new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                                new SimpleChannelInboundHandler<FullHttpRequest>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                                        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                                                Unpooled.copiedBuffer(TestUpstream.chatJson("tls", "over tls"), StandardCharsets.UTF_8));
                                        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                                                .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
                                        ctx.writeAndFlush(r);
                                    }
                                });
                    }
                }).bind("127.0.0.1", 0).sync().channel();
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    private static void keytool(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
    }

    private static String catalog(String host, String extra) {
        return "nemo.models = [ { name = \"secure\", provider = openai, api_base = \"https://" + host + ":" + port + "/v1\" } ]\n" + extra;
    }

    @Test
    void aTrustedCertificateForTheRightHostWorks() throws Exception {
        try (Gateway gw = Gateway.start(catalog("localhost", "nemo.upstream.ca_file = \"" + caPem + "\"\n"))) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("secure", false));
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("over tls", JSON.readTree(r.body()).at("/choices/0/message/content").asText());
        }
    }

    @Test
    void anUntrustedCertificateIsRefused() throws Exception {
        try (Gateway gw = Gateway.start(catalog("localhost", ""))) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("secure", false));
            assertEquals(502, r.statusCode(), r.body());
            assertEquals("upstream_tls_error", JSON.readTree(r.body()).at("/error/code").asText());
        }
    }

    @Test
    void aCertificateForAnotherHostIsRefused() throws Exception {
        // trusted, but issued to "localhost", while the gateway connects to "127.0.0.1"
        try (Gateway gw = Gateway.start(catalog("127.0.0.1", "nemo.upstream.ca_file = \"" + caPem + "\"\n"))) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("secure", false));
            assertEquals(502, r.statusCode(), r.body());
            String body = JSON.readTree(r.body()).at("/error/message").asText();
            assertTrue(JSON.readTree(r.body()).at("/error/code").asText().equals("upstream_tls_error"), body);
        }
    }
}
