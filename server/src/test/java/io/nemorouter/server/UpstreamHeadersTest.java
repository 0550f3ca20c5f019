package io.nemorouter.server;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.Phase;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.providers.standin.StandInServer;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * {@code Exchange.upstreamHeader}: a header set before routing goes with every attempt, one set
 * after it with that attempt only, in place of the client's header of the same name, through every
 * provider's send path; the headers the gateway and providers set cannot be set.
 */
class UpstreamHeadersTest {
    /** Sets {@code x-tenant} before routing and {@code traceparent} per attempt (naming the attempt); records refusals. */
    private static final class SetsHeaders implements Extension {
        final List<String> refused = new CopyOnWriteArrayList<>();

        @Override
        public String name() {
            return "sets_headers";
        }

        @Override
        public void start(ExtensionContext context) {
            context.filter(Phase.BEFORE_ROUTING, 100, ex -> {
                ex.upstreamHeader("X-Tenant", "acme");
                for (String name : List.of("authorization", "host", "content-length", "content-type", "x-request-id", "x-api-key", "bad name")) {
                    refuse(ex, name);
                }
                refuse(ex, "x-ok\r\nx-injected");
                return Verdict.CONTINUE;
            });
            context.filter(Phase.DEPLOYMENT_CHOSEN, 100, ex -> {
                assertEquals("acme", ex.upstreamHeaders().get(0).getValue());
                assertEquals(1, ex.upstreamHeaders().size(), "the last attempt's header was rewound: " + ex.upstreamHeaders());
                ex.upstreamHeader("traceparent", "attempt-" + ex.attemptNumber());
                return Verdict.CONTINUE;
            });
        }

        private void refuse(Exchange ex, String name) {
            try {
                ex.upstreamHeader(name, "x");
            } catch (IllegalArgumentException expected) {
                refused.add(name);
            }
        }
    }

    @Test
    void headersSetOnTheExchangeReplaceTheClientsAndPerAttemptOnesFollowTheirAttempt() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        SetsHeaders ext = new SetsHeaders();
        try (ScriptableUpstream upstream = new ScriptableUpstream().otherwise((req, reply) -> {
            if (calls.getAndIncrement() == 0) {
                ScriptableUpstream.status(503, null).answer(req, reply);
            } else {
                ScriptableUpstream.chat("ok").answer(req, reply);
            }
        }); TestGateway gw = TestGateway.builder().config("nemo.models = [" + upstream.model("m", "gpt-4o") + "]\n"
                + "nemo.router { num_retries = 1, retry_backoff = 10ms }").extension(ext).start()) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("m", false),
                    "traceparent", "00-the-clients-own", "x-tenant", "someone-else", "x-kept", "yes");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("1", r.headers().firstValue("x-nemo-fallbacks").orElse(""), "a retry: two attempts");
            List<ScriptableUpstream.Request> got = upstream.received();
            assertEquals(2, got.size());
            for (int i = 0; i < 2; i++) {
                var h = got.get(i).headers();
                assertEquals(List.of("attempt-" + (i + 1)), h.getAll("traceparent"), "each attempt's own, never the client's");
                assertEquals(List.of("acme"), h.getAll("x-tenant"), "set before routing: every attempt, in place of the client's");
                assertEquals("yes", h.get("x-kept"), "the client's other headers still go");
                assertEquals("Bearer sk-test", h.get("authorization"), "the provider's credentials, untouched");
            }
            assertEquals(List.of("authorization", "host", "content-length", "content-type", "x-request-id", "x-api-key", "bad name",
                    "x-ok\r\nx-injected"), ext.refused.subList(0, 8), "what the gateway and providers set, and bad text, are refused");
        }
    }

    @Test
    void everyProvidersSendPathCarriesThem() throws Exception {
        for (String api : List.of("anthropic", "gemini", "azure")) {
            try (StandInServer standIn = new StandInServer(api, "key-test", 0);
                 TestGateway gw = TestGateway.builder().config("nemo.models = [ { name = m, provider = " + api + ", "
                         + (api.equals("azure") ? "model = \"gpt-4o-mini\", api_base = \"http://127.0.0.1:" + standIn.port() + "/\""
                         : "model = \"" + (api.equals("gemini") ? "gemini-2.5-flash" : "claude-sonnet-4-5") + "\", api_base = \"http://127.0.0.1:" + standIn.port() + "\"")
                         + ", api_key = \"key-test\" } ]").extension(new SetsHeaders()).start()) {
                HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("m", false));
                assertEquals(200, r.statusCode(), api + ": " + r.body());
                var h = standIn.requests().get(standIn.requests().size() - 1).headers();
                assertEquals("attempt-1", h.get("traceparent"), api);
                assertEquals("acme", h.get("x-tenant"), api);
            }
        }
    }

    @Test
    void withoutAnyNothingIsAddedAndTheClientsHeadersGoAsTheyCame() throws Exception {
        try (ScriptableUpstream upstream = new ScriptableUpstream();
             TestGateway gw = TestGateway.builder().config("nemo.models = [" + upstream.model("m", "gpt-4o") + "]").start()) {
            assertEquals(200, gw.post("/v1/chat/completions", TestGateway.chat("m", false), "x-kept", "yes").statusCode());
            assertNull(upstream.last().headers().get("traceparent"));
            assertEquals("yes", upstream.last().headers().get("x-kept"));
        }
    }
}
