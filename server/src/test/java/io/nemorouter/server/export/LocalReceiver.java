package io.nemorouter.server.export;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local HTTP server standing in for a service an exporter sends to (a webhook, S3, a collector):
 * on 127.0.0.1, answering the statuses it was given first, then 200. Subclasses say what one
 * request is answered with and what is kept of it.
 */
abstract class LocalReceiver implements AutoCloseable {
    final HttpServer server;
    final List<Integer> statuses;
    final AtomicInteger calls = new AtomicInteger();

    /** {@code port} 0 for a free one; {@code context} the path it serves (and below). */
    LocalReceiver(int port, String context, List<Integer> statuses, int threads) throws IOException {
        this.statuses = statuses;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.setExecutor(Executors.newFixedThreadPool(threads));
        server.createContext(context, this::handle);
        server.start();
    }

    /** {@code http://127.0.0.1:<port>}. */
    String base() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Counts the call and gives its scripted status: those given first, then 200. */
    int nextStatus() {
        int n = calls.getAndIncrement();
        return n < statuses.size() ? statuses.get(n) : 200;
    }

    abstract void handle(HttpExchange ex) throws IOException;

    @Override
    public void close() {
        server.stop(0);
    }
}
