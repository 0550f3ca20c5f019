package io.nemorouter.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.exchange.AnswerListener;
import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.Phase;
import io.nemorouter.core.extension.RouteAuth;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.testkit.TestGateway;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the extension SPI promises: phases and order, suspension, failures answered, lifecycle, conflicts. */
class ExtensionSpiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MOCK = "nemo.models = [ { name = chat, provider = mock }, { name = chat-slow, provider = mock,"
            + " mock { chunks = 3, chunk_delay = 20ms } } ]\n";

    /** An extension made of a lambda: what it registers at start. */
    private record Ext(String name, int order, Consumer<ExtensionContext> start, List<String> log) implements Extension {
        Ext(String name, Consumer<ExtensionContext> start) {
            this(name, 500, start, new ArrayList<>());
        }

        @Override
        public void start(ExtensionContext context) {
            log.add("start " + name);
            start.accept(context);
        }

        @Override
        public void close() {
            log.add("close " + name);
        }
    }

    private static TestGateway gateway(String config, Extension... extensions) throws Exception {
        TestGateway.Builder b = TestGateway.builder().config(MOCK).config(config);
        for (Extension e : extensions) {
            b.extension(e);
        }
        return b.start();
    }

    private static void appendHeader(Exchange ex, String what) {
        String before = ex.get(TRAIL);
        ex.set(TRAIL, before == null ? what : before + "," + what);
        ex.responseHeader("x-trail", ex.get(TRAIL));
    }

    private static final io.nemorouter.core.exchange.Key<String> TRAIL = io.nemorouter.core.exchange.Key.of("test.trail");

    @Test
    void filtersRunByPhaseThenOrderWhicheverExtensionRegisteredThem() throws Exception {
        List<String> deployments = new CopyOnWriteArrayList<>();
        Ext late = new Ext("late", c -> {
            c.filter(Phase.DEPLOYMENT_CHOSEN, 1, ex -> {
                deployments.add(ex.deployment().id());
                appendHeader(ex, "chosen");
                return Verdict.CONTINUE;
            });
            c.filter(Phase.BEFORE_ROUTING, 200, ex -> {
                deployments.add(String.valueOf(ex.deployment()));
                appendHeader(ex, "200");
                return Verdict.CONTINUE;
            });
        });
        Ext early = new Ext("early", c -> c.filter(Phase.BEFORE_ROUTING, 100, ex -> {
            appendHeader(ex, "100");
            return Verdict.CONTINUE;
        }));
        try (TestGateway gw = gateway("", late, early)) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("chat", false));
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("100,200,chosen", r.headers().firstValue("x-trail").orElseThrow());
            assertEquals(List.of("null", "mock/chat"), deployments, "no deployment before routing; the chosen one after");
        }
    }

    @Test
    void aSuspendedFilterGoesOnWhenItDecidesFromAnotherThread() throws Exception {
        Ext lookup = new Ext("lookup", c -> c.filter(Phase.BEFORE_ROUTING, 1, ex -> {
            CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS).execute(() -> {
                appendHeaderLater(ex);
                ex.proceed(); // from a thread of its own: the gateway takes it back to the exchange's loop
            });
            return Verdict.PENDING;
        }));
        try (TestGateway gw = gateway("", lookup)) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("chat", true));
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().endsWith("data: [DONE]\n\n"), r.body());
            assertEquals("yes", r.headers().firstValue("x-looked-up").orElse(null), "what it set while suspended is in the answer");
        }
    }

    private static void appendHeaderLater(Exchange ex) {
        ex.eventLoop().execute(() -> ex.responseHeader("x-looked-up", "yes"));
    }

    @Test
    void aFilterThatDecidesBeforeItReturnsPendingIsNotLeftHanging() throws Exception {
        Ext cached = new Ext("cached", c -> c.filter(Phase.BEFORE_ROUTING, 1, ex -> {
            ex.proceed(); // the lookup was answered at once, from a cache
            return Verdict.PENDING;
        }));
        try (TestGateway gw = gateway("", cached)) {
            assertEquals(200, gw.post("/v1/chat/completions", TestGateway.chat("chat", false)).statusCode());
        }
    }

    @Test
    void aFilterThatNeverDecidesIsAnswered503AfterTheFilterTimeout() throws Exception {
        Ext stuck = new Ext("stuck", c -> c.filter(Phase.BEFORE_ROUTING, 1, ex -> Verdict.PENDING));
        try (TestGateway gw = gateway("nemo.server.filter_timeout = 200ms", stuck)) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("chat", false));
            assertEquals(503, r.statusCode(), r.body());
            assertEquals("filter_timeout", JSON.readTree(r.body()).at("/error/code").asText());
        }
    }

    @Test
    void aFilterThatFailsAnswers500WithTheRequestIdAndTheGatewayGoesOn() throws Exception {
        Ext broken = new Ext("broken", c -> {
            c.filter(Phase.BEFORE_ROUTING, 1, ex -> {
                if (ex.requestHeaders().contains("x-throw")) {
                    throw new IllegalStateException("boom");
                }
                if (ex.requestHeaders().contains("x-reserved")) {
                    ex.responseHeader("x-request-id", "forged"); // the gateway's own: refused
                }
                return ex.requestHeaders().contains("x-lie") ? Verdict.ANSWERED : Verdict.CONTINUE;
            });
        });
        try (TestGateway gw = gateway("", broken)) {
            for (String header : new String[]{"x-throw", "x-reserved", "x-lie"}) {
                HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("chat", false), header, "1");
                assertEquals(500, r.statusCode(), header + ": " + r.body());
                String id = r.headers().firstValue("x-request-id").orElseThrow();
                assertTrue(JSON.readTree(r.body()).at("/error/message").asText().contains(id), r.body());
            }
            assertEquals(200, gw.post("/v1/chat/completions", TestGateway.chat("chat", false)).statusCode());
        }
    }

    @Test
    void listenersSeeTheAnswerAsTheClientDoesAndObserversSeeEveryCompletion() throws Exception {
        List<String> heard = new CopyOnWriteArrayList<>();
        List<Completion> completions = new CopyOnWriteArrayList<>();
        Ext listening = new Ext("listening", c -> {
            c.filter(Phase.BEFORE_ROUTING, 1, ex -> {
                ex.listen(new AnswerListener() {
                    @Override
                    public void onHead(Exchange exchange, int status) {
                        heard.add("head " + status);
                        exchange.responseHeader("x-heard", "head"); // still in time for the head
                    }

                    @Override
                    public void onBody(Exchange exchange, ByteBuf piece) {
                        heard.add("body " + piece.toString(StandardCharsets.UTF_8).length());
                    }

                    @Override
                    public void onEvent(Exchange exchange, ByteBuf event) {
                        heard.add(event.toString(StandardCharsets.UTF_8));
                    }

                    @Override
                    public void onComplete(Completion completion) {
                        heard.add("complete " + completion.status());
                    }
                });
                return Verdict.CONTINUE;
            });
            c.observer(completion -> {
                throw new IllegalStateException("an observer that fails does not stop the others");
            });
            c.observer(completions::add);
        });
        try (TestGateway gw = gateway("", listening)) {
            HttpResponse<String> plain = gw.post("/v1/chat/completions", TestGateway.chat("chat", false));
            assertEquals("head", plain.headers().firstValue("x-heard").orElseThrow());
            long until = deadline(5);
            while (heard.size() < 3 && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertEquals(List.of("head 200", "body " + plain.body().length(), "complete 200"), List.copyOf(heard));

            heard.clear();
            HttpResponse<String> stream = gw.post("/v1/chat/completions", TestGateway.chat("chat-slow", true));
            List<String> events = new ArrayList<>();
            for (String e : stream.body().split("(?<=\n\n)")) {
                events.add(e);
            }
            long streamed5 = deadline(5);
            while (!heard.get(heard.size() - 1).startsWith("complete") && System.nanoTime() < streamed5) {
                Thread.sleep(5);
            }
            assertEquals("head 200", heard.get(0));
            assertEquals(events, heard.subList(1, heard.size() - 1), "every event the client got, whole and in order");
            assertEquals("complete 200", heard.get(heard.size() - 1));

            // observers run once the last byte is flushed: the client may see the end a moment before
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (completions.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(2, completions.size());
            Completion streamed = completions.get(1);
            assertTrue(streamed.streamed());
            assertEquals("chat-slow", streamed.requestedModel());
            assertNotNull(streamed.usage(), "the mock's usage event, though the client did not ask for it");
            assertTrue(streamed.cost() >= 0);
            assertEquals(1, streamed.attempts().size());
            assertTrue(streamed.finishedNanos() > streamed.headSentNanos() && streamed.headSentNanos() > streamed.receivedNanos());
        }
    }

    @Test
    void extensionsStartInOrderAndCloseInReverseAfterTheGatewayStops() throws Exception {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        Ext second = new Ext("b_second", 20, c -> { }, log);
        Ext first = new Ext("z_first", 10, c -> { }, log);
        Ext third = new Ext("a_third", 20, c -> { }, log);
        TestGateway gw = gateway("", second, first, third);
        assertEquals(List.of("start z_first", "start a_third", "start b_second"), List.copyOf(log));
        assertEquals(200, gw.get("/health").statusCode());
        gw.close();
        assertEquals(List.of("start z_first", "start a_third", "start b_second",
                "close b_second", "close a_third", "close z_first"), List.copyOf(log));
    }

    @Test
    void extensionsCloseAfterTheDrainHasLetTheLastStreamFinish() throws Exception {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        Ext watching = new Ext("watching", 1, c -> c.observer(done -> log.add("completed " + done.status())), log);
        TestGateway gw = gateway("", watching);
        CompletableFuture<HttpResponse<String>> stream = gw.http().sendAsync(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(gw.base() + "/v1/chat/completions"))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(TestGateway.chat("chat-slow", true))).build(),
                HttpResponse.BodyHandlers.ofString());
        long deadline = deadline(5);
        while (gw.server().runtime().metrics.inFlight() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertTrue(gw.server().drainAndStop(java.time.Duration.ofSeconds(10)), "drained within the grace");
        assertTrue(stream.get(5, TimeUnit.SECONDS).body().endsWith("data: [DONE]\n\n"), "the stream finished whole");
        assertEquals(List.of("start watching", "completed 200", "close watching"), List.copyOf(log));
    }

    @Test
    void aFilterAfterRoutingMaySuspendToo() throws Exception {
        Ext reserve = new Ext("reserve", c -> c.filter(Phase.DEPLOYMENT_CHOSEN, 1, ex -> {
            CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS).execute(ex::proceed);
            return Verdict.PENDING;
        }));
        try (TestGateway gw = gateway("", reserve)) {
            assertEquals(200, gw.post("/v1/chat/completions", TestGateway.chat("chat", false)).statusCode());
        }
    }

    /** A provider answering in-process, whose translator throws, or which never answers. */
    private static final class Misbehaving implements io.nemorouter.core.provider.ProviderFactory {
        @Override
        public String name() {
            return "misbehaving";
        }

        @Override
        public io.nemorouter.core.provider.Provider create(io.nemorouter.core.config.Deployment d,
                                                           io.nemorouter.core.provider.ProviderContext context) {
            return new io.nemorouter.core.provider.Provider() {
                @Override
                public void send(Exchange exchange, io.nemorouter.core.exchange.Attempt attempt) {
                    if (d.model().equals("silent")) {
                        return; // never answers, never fails
                    }
                    byte[] json = "{\"choices\":[]}".getBytes(StandardCharsets.UTF_8);
                    attempt.whole(new io.netty.handler.codec.http.DefaultFullHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                            io.netty.handler.codec.http.HttpResponseStatus.OK, exchange.alloc().buffer().writeBytes(json)));
                }

                @Override
                public io.nemorouter.core.provider.ResponseTranslator translator(Exchange exchange) {
                    return new io.nemorouter.core.provider.ResponseTranslator() {
                        @Override
                        public ByteBuf body(Exchange ex, int status, ByteBuf body) {
                            throw new IllegalStateException("cannot translate this");
                        }
                    };
                }
            };
        }
    }

    @Test
    void aTranslatorThatThrowsIsTheGatewaysFaultAndAProviderThatNeverAnswersTimesOut() throws Exception {
        try (TestGateway gw = TestGateway.builder().provider(new Misbehaving())
                .config("nemo.models = [ { name = broken, provider = misbehaving }, { name = silent, provider = misbehaving } ]\n"
                        + "nemo.upstream.first_byte_timeout = 300ms")
                .start()) {
            HttpResponse<String> broken = gw.post("/v1/chat/completions", TestGateway.chat("broken", false));
            assertEquals(500, broken.statusCode(), broken.body());
            assertTrue(JSON.readTree(broken.body()).at("/error/message").asText().contains("translate"), broken.body());
            HttpResponse<String> silent = gw.post("/v1/chat/completions", TestGateway.chat("silent", false));
            assertEquals(504, silent.statusCode(), silent.body());
            assertEquals("upstream_timeout", JSON.readTree(silent.body()).at("/error/code").asText());
        }
    }

    @Test
    void anExtensionThatFailsToStartClosesThoseStartedAndStopsStartUp() throws Exception {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        Ext fine = new Ext("fine", 1, c -> { }, log);
        Ext failing = new Ext("failing", 2, c -> {
            throw c.configError("store", "cannot open /nowhere");
        }, log);
        ConfigError e = assertThrows(ConfigError.class, () -> gateway("", fine, failing));
        assertEquals("nemo.failing.store: cannot open /nowhere", e.getMessage());
        assertEquals(List.of("start fine", "start failing", "close fine"), List.copyOf(log));
    }

    @Test
    void anExtensionCanBeDisabledInItsBlock() throws Exception {
        List<String> log = new ArrayList<>();
        Ext off = new Ext("off", 1, c -> { }, log);
        try (TestGateway gw = gateway("nemo.off.enabled = false", off)) {
            assertTrue(log.isEmpty(), "never started");
        }
    }

    @Test
    void conflictsAreStartUpErrors() {
        Ext router = new Ext("my_router", c -> c.routingStrategy((ex, failed) -> null));
        ConfigError two = assertThrows(ConfigError.class, () -> gateway("", router));
        assertTrue(two.getMessage().contains("both set the routing strategy"), two.getMessage());

        Ext takesOpenAi = new Ext("greedy", c -> c.route(HttpMethod.GET, "/v1/files", RouteAuth.NONE, ex -> { }));
        assertTrue(assertThrows(ConfigError.class, () -> gateway("", takesOpenAi)).getMessage().contains("serves itself"));

        Ext one = new Ext("one", c -> c.route(HttpMethod.GET, "/admin/*", RouteAuth.NONE, ex -> { }));
        Ext other = new Ext("other", c -> c.route(HttpMethod.GET, "/admin/keys", RouteAuth.NONE, ex -> { }));
        assertTrue(assertThrows(ConfigError.class, () -> gateway("", one, other)).getMessage().contains("both serve"));
    }

    @Test
    void routesTakeExactPathsAndPrefixesAndReadTheirBodyOnDemand() throws Exception {
        Ext admin = new Ext("admin", c -> {
            c.route(HttpMethod.POST, "/admin/echo", RouteAuth.NONE, ex -> ex.respond(json(ex,
                    "{\"name\":" + ex.body().json().path("name") + "}")));
            c.route(HttpMethod.GET, "/admin/*", RouteAuth.NONE, ex -> ex.respond(json(ex, "{\"path\":\"" + ex.path() + "\"}")));
        });
        try (TestGateway gw = gateway("", admin)) {
            assertEquals("{\"name\":\"x\"}", gw.post("/admin/echo", "{\"name\":\"x\"}").body());
            HttpResponse<String> bad = gw.post("/admin/echo", "{not json");
            assertEquals(400, bad.statusCode(), "a body the handler cannot read is the client's mistake");
            assertEquals("invalid_json", JSON.readTree(bad.body()).at("/error/code").asText());
            assertEquals("{\"path\":\"/admin/keys/k1\"}", gw.get("/admin/keys/k1?x=1").body());
            assertEquals("{\"path\":\"/admin\"}", gw.get("/admin").body());
            assertEquals(404, gw.get("/administrator").statusCode());
            HttpResponse<String> wrong = gw.post("/admin/keys", "{}");
            assertEquals(405, wrong.statusCode());
            assertEquals("GET", wrong.headers().firstValue("allow").orElseThrow());
            assertNull(gw.get("/admin").headers().firstValue("x-nemo-model").orElse(null));
        }
    }

    private static long deadline(int seconds) {
        return System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    }

    private static io.netty.handler.codec.http.FullHttpResponse json(Exchange ex, String json) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        var r = new io.netty.handler.codec.http.DefaultFullHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                io.netty.handler.codec.http.HttpResponseStatus.OK, ex.alloc().buffer(b.length).writeBytes(b));
        r.headers().set("content-type", "application/json");
        return r;
    }

}
