package io.nemorouter.server;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.server.GatewayServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Start-up warm-up: before the real port opens, drives requests through a private instance of the
 * gateway (same code, the user's server settings, loopback port, its own metrics, and of the
 * extensions only the built-in {@code route} and {@code keys}, the latter on a scratch store of its
 * own with a master key made up for the purpose: the real stores and state stay the real gateway's)
 * in front of an in-process canned upstream, so the JIT has compiled the request path, the upstream client and the stream relay by
 * the time the first user arrives. Without it the first few thousand requests run interpreted or
 * in C1 code at 0.5-2 ms each, and a path a load test never took (fresh connections, streams) stays
 * cold long after.
 *
 * <p>The traffic varies on purpose: plain and streamed, kept-alive and fresh connections, an
 * {@code openai} model (the upstream client and relay) and the built-in mock, and a few header sets,
 * so C2 compiles for the shapes real clients send and does not deoptimise at the first new one.
 */
final class Warmup {
    private static final Logger LOG = LoggerFactory.getLogger(Warmup.class);
    private static final String MODEL = "nemo-warmup";
    private static final String MOCK_MODEL = "nemo-warmup-mock";

    private Warmup() {
    }

    /** What a warm-up did; {@code keyed}: whether its SDK-shaped requests carried a virtual key (auth, limits, budget). */
    record Result(int requests, int failed, boolean keyed) {
    }

    /** Runs requests for up to {@code budget} or {@code maxRequests} requests, whichever ends first, once its private gateway is up. */
    static Result run(GatewayConfig config, Duration budget, int maxRequests) {
        long started = System.nanoTime();
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        String key = null;
        Path scratch = null;
        try (CannedUpstream upstream = new CannedUpstream()) {
            scratch = Files.createTempDirectory("nemo-warmup");
            String master = "sk-warmup-master-" + Long.toHexString(new java.security.SecureRandom().nextLong());
            GatewayServer server = GatewayServer.builder(privateConfig(config, upstream.port(), scratch, master))
                    .onlyExtensions("router", "keys").start();
            try {
                int port = server.port();
                key = virtualKey(port, master);
                String bearer = key == null ? "sk-test" : key;
                // the budget is for requests: opening the scratch store (Chronicle's first load, which the real
                // store then skips) and making its key do not count
                long deadline = System.nanoTime() + budget.toNanos();
                int clients = Math.max(2, config.ioThreads > 0 ? config.ioThreads : Runtime.getRuntime().availableProcessors());
                Thread[] threads = new Thread[clients];
                for (int t = 0; t < clients; t++) {
                    int first = t;
                    threads[t] = new Thread(() -> drive(port, bearer, first, deadline, maxRequests, done, failed), "nemo-warmup-" + t);
                    threads[t].start();
                }
                StringBuilder ramp = new StringBuilder();
                for (Thread t : threads) {
                    while (t.isAlive()) {
                        t.join(250);
                        ramp.append(done.get()).append(' ');
                    }
                }
                LOG.debug("warm-up requests done every 250 ms: {}", ramp);
            } finally {
                server.stop();
            }
        } catch (Exception e) {
            LOG.warn("warm-up stopped early: {}", e.toString());
        } finally {
            deleteTree(scratch);
        }
        LOG.info("warm-up: {} requests through the pipeline in {} ms ({} failed{})", done.get(),
                (System.nanoTime() - started) / 1_000_000, failed.get(), key == null ? "" : ", keyed");
        return new Result(done.get(), failed.get(), key != null);
    }

    /**
     * A virtual key in a team in an organization, each with every limit and a budget far above what
     * the warm-up sends, so the SDK-shaped requests take auth, the limits and the budget at all three
     * levels; null when the keys extension is off (then those requests go as they are).
     */
    private static String virtualKey(int port, String master) {
        String limits = "\"max_budget\":1000000000,\"budget_duration\":\"1d\",\"rpm_limit\":1000000000,"
                + "\"tpm_limit\":1000000000000,\"max_parallel_requests\":1000000";
        try {
            if (admin(port, master, "/organization/new", "{\"organization_id\":\"warmup\"," + limits + "}") == null
                    || admin(port, master, "/team/new", "{\"team_id\":\"warmup\",\"organization_id\":\"warmup\"," + limits + "}") == null) {
                return null;
            }
            String made = admin(port, master, "/key/generate", "{\"team_id\":\"warmup\"," + limits + "}");
            int at = made == null ? -1 : made.indexOf("\"key\":\"");
            return at < 0 ? null : made.substring(at + 7, made.indexOf('"', at + 7));
        } catch (IOException e) {
            return null;
        }
    }

    /** POSTs {@code json} to an admin route of the private gateway; its body when 200, else null. */
    private static String admin(int port, String master, String path, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + master
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(body);
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return answer.startsWith("HTTP/1.1 200") ? answer.substring(answer.indexOf("\r\n\r\n") + 4) : null;
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.debug("warm-up scratch store {} left behind: {}", dir, e.toString());
        }
    }

    /**
     * The user's config (limits, timeouts) with a loopback port, the built-in routing, a catalog of
     * its own, and a small scratch key store with its own master key.
     */
    private static GatewayConfig privateConfig(GatewayConfig config, int upstreamPort, Path dataDir, String master) {
        Config c = config.root
                .withValue("nemo.server.host", ConfigValueFactory.fromAnyRef("127.0.0.1"))
                .withValue("nemo.data_dir", ConfigValueFactory.fromAnyRef(dataDir.toString()))
                .withValue("nemo.keys.master_key", ConfigValueFactory.fromAnyRef(master))
                .withValue("nemo.keys.store_entries", ConfigValueFactory.fromAnyRef(100))
                .withValue("nemo.server.port", ConfigValueFactory.fromAnyRef(0))
                .withValue("nemo.router.enabled", ConfigValueFactory.fromAnyRef(true))
                .withValue("nemo.models", ConfigValueFactory.fromIterable(List.of(
                        Map.of("name", MODEL, "provider", "openai", "api_key", "sk-warmup",
                                "api_base", "http://127.0.0.1:" + upstreamPort + "/v1"),
                        Map.of("name", MOCK_MODEL, "provider", "mock", "mock", Map.of("chunks", 8, "dimensions", 8)))));
        return new GatewayConfig(c, config.reference);
    }

    /** One client: requests in a fixed cycle of shapes, until the deadline or the shared cap. */
    private static void drive(int port, String bearer, int first, long deadline, int maxRequests, AtomicInteger done,
                              AtomicInteger failed) {
        byte[][] requests = new byte[VARIANTS][];
        for (int v = 0; v < VARIANTS; v++) {
            requests[v] = request(v, port, bearer);
        }
        byte[] buf = new byte[64 * 1024];
        Socket kept = null;
        for (int i = first; System.nanoTime() < deadline && done.get() < maxRequests; i++) {
            int v = i % VARIANTS;
            boolean fresh = fresh(v) || closes(v);
            Socket s = null;
            try {
                if (fresh || kept == null) {
                    s = new Socket();
                    s.setTcpNoDelay(true);
                    s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                    s.setSoTimeout(5000);
                    if (!fresh) {
                        kept = s;
                    }
                } else {
                    s = kept;
                }
                exchange(s, requests[v], buf);
                done.incrementAndGet();
            } catch (IOException e) {
                failed.incrementAndGet();
                if (s == kept) {
                    kept = null;
                }
                fresh = true;
            } finally {
                if (fresh && s != null) {
                    close(s);
                }
            }
        }
        if (kept != null) {
            close(kept);
        }
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // a loopback socket
        }
    }

    /*
     * The cycle of request shapes. Each branch the gateway takes for real clients has to be in the profile
     * before C2 compiles, or the compiled code drops it and deoptimises the first time a user takes it:
     * header names as curl and wrk write them (capitalised) and as the SDKs do (lower case), kept-alive and
     * fresh connections, "Connection: close", streams whose events arrive in one read and one per read,
     * the built-in mock, an unknown model (404), and the two GET routes.
     */
    private static final int VARIANTS = 60;

    private static boolean stream(int v) {
        return (v & 1) == 1;
    }

    private static boolean fresh(int v) {
        return (v & 2) == 2;
    }

    private static boolean closes(int v) {
        return v % 5 == 0;
    }

    private static final String[] CLIENT_HEADERS = {
            "Host: 127.0.0.1:%d\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nContent-Type: application/json\r\n"
                    + "Authorization: Bearer %2$s\r\n",
            "host: 127.0.0.1:%d\r\ncontent-type: application/json\r\nuser-agent: OpenAI/JS 4.77.0\r\naccept: application/json\r\n"
                    + "authorization: Bearer %2$s\r\nx-stainless-lang: js\r\nx-stainless-package-version: 4.77.0\r\n"
                    + "x-stainless-os: Linux\r\nx-stainless-arch: x64\r\nx-stainless-runtime: node\r\nx-stainless-retry-count: 0\r\n",
            "Host: 127.0.0.1:%d\r\nContent-Type: application/json\r\nX-Api-Key: %2$s\r\n",
            "host: 127.0.0.1:%d\r\nuser-agent: OpenAI/Python 1.58.1\r\naccept: application/json\r\naccept-encoding: gzip, deflate\r\n"
                    + "authorization: Bearer %2$s\r\ncontent-type: application/json\r\nx-stainless-lang: python\r\nx-request-id: warmup-req\r\n",
    };

    private static byte[] request(int v, int port, String bearer) {
        String headers = String.format(CLIENT_HEADERS[v % CLIENT_HEADERS.length], port, bearer)
                + (closes(v) ? (v % 10 == 0 ? "Connection: close\r\n" : "connection: close\r\n") : "")
                + (stream(v) && v % 3 == 0 ? "x-warmup-pace: 1\r\n" : "");
        if (v == 13 || v == 29) {
            return ((v == 13 ? "GET /v1/models" : "GET /health") + " HTTP/1.1\r\n" + headers + "\r\n").getBytes(StandardCharsets.US_ASCII);
        }
        String model = v == 37 ? "no-such-model" : v % 8 == 5 ? MOCK_MODEL : MODEL;
        String body = "{\"model\":\"" + model + "\"," + (stream(v) ? "\"stream\":true," : "")
                + "\"messages\":[{\"role\":\"user\",\"content\":\"warm-up " + v + "\"}]"
                + (v % 3 == 0 ? ",\"temperature\":0.2,\"max_tokens\":64" : "")
                + (stream(v) && v % 7 == 1 ? ",\"stream_options\":{\"include_usage\":true}" : "") + "}";
        String head = "POST /v1/chat/completions HTTP/1.1\r\n" + headers
                + (v % 4 == 0 ? "Content-Length: " : "content-length: ") + body.length() + "\r\n\r\n";
        return (head + body).getBytes(StandardCharsets.US_ASCII);
    }

    /** Sends one request and reads its whole answer: to its content-length, or to the last chunk. */
    private static void exchange(Socket s, byte[] request, byte[] buf) throws IOException {
        s.getOutputStream().write(request);
        InputStream in = s.getInputStream();
        int n = 0;
        int headEnd = -1;
        long want = -1; // total bytes of a content-length answer, once known
        while (true) {
            int k = in.read(buf, n, buf.length - n);
            if (k < 0) {
                throw new IOException("closed mid-answer");
            }
            n += k;
            if (headEnd < 0) {
                headEnd = indexOf(buf, n, CRLFCRLF, 0);
                if (headEnd < 0) {
                    continue;
                }
                headEnd += 4;
                if (n < 12 || buf[9] < '2' || buf[9] > '5') {
                    throw new IOException("warm-up answer unreadable");
                }
                if (buf[9] == '4' && (buf[10] != '0' || buf[11] != '4')) { // only the unknown model's 404 is meant
                    throw new IOException("warm-up request refused: " + (char) buf[9] + (char) buf[10] + (char) buf[11]);
                }
                int cl = indexOfIgnoreCase(buf, headEnd, CONTENT_LENGTH);
                if (cl >= 0) {
                    long len = 0;
                    for (int j = cl + CONTENT_LENGTH.length; buf[j] != '\r'; j++) {
                        len = buf[j] == ' ' ? len : len * 10 + (buf[j] - '0');
                    }
                    want = headEnd + len;
                }
            }
            if (want >= 0 ? n >= want : n >= 5 && indexOf(buf, n, LAST_CHUNK, n - 5) >= 0) {
                return;
            }
            if (n == buf.length) { // keep the tail: only the end matters from here
                System.arraycopy(buf, n - 16, buf, 0, 16);
                want -= want >= 0 ? n - 16 : 0;
                n = 16;
            }
        }
    }

    private static final byte[] CRLFCRLF = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONTENT_LENGTH = "\ncontent-length:".getBytes(StandardCharsets.US_ASCII);

    private static int indexOf(byte[] b, int end, byte[] what, int from) {
        outer:
        for (int i = Math.max(0, from); i <= end - what.length; i++) {
            for (int j = 0; j < what.length; j++) {
                if (b[i + j] != what[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static int indexOfIgnoreCase(byte[] b, int end, byte[] lower) {
        outer:
        for (int i = 0; i <= end - lower.length; i++) {
            for (int j = 0; j < lower.length; j++) {
                int c = b[i + j];
                if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != lower[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /**
     * The upstream the warm-up talks to: canned OpenAI answers over plain blocking sockets, a thread per
     * connection (the gateway keeps a few pooled). Deliberately small, so the JIT spends its time on the
     * gateway's code rather than on this.
     */
    private static final class CannedUpstream implements AutoCloseable {
        private static final byte[] PLAIN;
        private static final byte[] PLAIN_CLOSE;
        private static final byte[] STREAM_HEAD;
        private static final byte[] STREAM_HEAD_CLOSE;
        /** Every this many answers on a connection, the upstream closes it (as one with a short keep-alive does), so the gateway's connect path is warmed too. */
        private static final int ANSWERS_PER_CONNECTION = 16;
        private static final byte[][] EVENTS = new byte[8][];
        private static final byte[] STREAM_END;

        static {
            String json = "{\"id\":\"chatcmpl-warmup\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"warmup\","
                    + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Warm.\"},\"finish_reason\":\"stop\"}],"
                    + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}";
            String plain = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + json.length() + "\r\nx-request-id: up-1\r\n";
            PLAIN = (plain + "\r\n" + json).getBytes(StandardCharsets.US_ASCII);
            PLAIN_CLOSE = (plain + "connection: close\r\n\r\n" + json).getBytes(StandardCharsets.US_ASCII);
            String head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n";
            STREAM_HEAD = (head + "\r\n").getBytes(StandardCharsets.US_ASCII);
            STREAM_HEAD_CLOSE = (head + "connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < EVENTS.length; i++) {
                String delta = i == 0 ? "{\"role\":\"assistant\",\"content\":\"\"}" : "{\"content\":\"tok" + i + " \"}";
                String ev = "data: {\"id\":\"chatcmpl-warmup\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"warmup\","
                        + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":" + (i == EVENTS.length - 1 ? "\"stop\"" : "null") + "}]}\n\n";
                EVENTS[i] = (Integer.toHexString(ev.length()) + "\r\n" + ev + "\r\n").getBytes(StandardCharsets.US_ASCII);
            }
            String done = "data: [DONE]\n\n";
            STREAM_END = (Integer.toHexString(done.length()) + "\r\n" + done + "\r\n0\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        }

        private final ServerSocket listener;

        CannedUpstream() throws IOException {
            listener = new ServerSocket(0, 64, java.net.InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::accept, "nemo-warmup-upstream");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return listener.getLocalPort();
        }

        private void accept() {
            while (!listener.isClosed()) {
                try {
                    Socket s = listener.accept();
                    s.setTcpNoDelay(true);
                    Thread t = new Thread(() -> serve(s), "nemo-warmup-upstream-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return; // closed
                }
            }
        }

        /** Answers each request on the connection; a streamed one as a head and eight events written apart. */
        private static void serve(Socket s) {
            byte[] buf = new byte[64 * 1024];
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                int n = 0;
                int answers = 0;
                while (true) {
                    int headEnd = indexOf(buf, n, CRLFCRLF, 0);
                    if (headEnd < 0) {
                        int k = in.read(buf, n, buf.length - n);
                        if (k < 0) {
                            return;
                        }
                        n += k;
                        continue;
                    }
                    headEnd += 4;
                    int cl = indexOfIgnoreCase(buf, headEnd, CONTENT_LENGTH);
                    int len = 0;
                    for (int j = cl + CONTENT_LENGTH.length; cl >= 0 && buf[j] != '\r'; j++) {
                        len = buf[j] == ' ' ? len : len * 10 + (buf[j] - '0');
                    }
                    while (n < headEnd + len) {
                        int k = in.read(buf, n, buf.length - n);
                        if (k < 0) {
                            return;
                        }
                        n += k;
                    }
                    boolean stream = indexOf(buf, headEnd + len, STREAM_TRUE, headEnd) >= 0;
                    boolean last = ++answers % ANSWERS_PER_CONNECTION == 0;
                    if (stream) {
                        byte[] h = last ? STREAM_HEAD_CLOSE : STREAM_HEAD;
                        byte[] first = new byte[h.length + EVENTS[0].length];
                        System.arraycopy(h, 0, first, 0, h.length);
                        System.arraycopy(EVENTS[0], 0, first, h.length, EVENTS[0].length);
                        out.write(first);
                        boolean paced = indexOfIgnoreCase(buf, headEnd, PACE) >= 0; // one event per read, as a real model sends them
                        for (int i = 1; i < EVENTS.length; i++) {
                            if (paced) {
                                java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                            }
                            out.write(EVENTS[i]);
                        }
                        if (indexOf(buf, headEnd + len, INCLUDE_USAGE, headEnd) >= 0) {
                            out.write(USAGE_EVENT); // the gateway asks for it on every stream, and keeps it from clients that did not
                        }
                        out.write(STREAM_END);
                    } else {
                        out.write(last ? PLAIN_CLOSE : PLAIN);
                    }
                    if (last) {
                        return; // closes the connection
                    }
                    int used = headEnd + len;
                    System.arraycopy(buf, used, buf, 0, n - used);
                    n -= used;
                }
            } catch (IOException e) {
                // the gateway closed the connection
            }
        }

        private static final byte[] PACE = "\nx-warmup-pace:".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] STREAM_TRUE = "\"stream\":true".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] INCLUDE_USAGE = "\"include_usage\":true".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] USAGE_EVENT;

        static {
            String ev = "data: {\"id\":\"chatcmpl-warmup\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"warmup\","
                    + "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":7,\"total_tokens\":16}}\n\n";
            USAGE_EVENT = (Integer.toHexString(ev.length()) + "\r\n" + ev + "\r\n").getBytes(StandardCharsets.US_ASCII);
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }
}
