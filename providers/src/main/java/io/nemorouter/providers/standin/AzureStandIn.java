package io.nemorouter.providers.standin;

import io.nemorouter.providers.mock.MockLlm;
import io.nemorouter.providers.mock.MockSettings;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Azure OpenAI's data plane: the OpenAI API (answered by the mock LLM) at
 * {@code /openai/deployments/{deployment}/chat/completions} and {@code /embeddings}, with the
 * {@code api-version} query parameter required and the key taken as {@code api-key} or as an Entra
 * bearer token. The answer's model is the deployment's name, as Azure's is its model's.
 */
final class AzureStandIn implements StandInServer.Api {
    private static final Pattern PATH = Pattern.compile("^/openai/deployments/([^/?]+)/(chat/completions|embeddings)\\?(.*)$");

    private final String key;
    private final MockLlm llm = new MockLlm(MockSettings.DEFAULT);

    AzureStandIn(String key) {
        this.key = key;
    }

    @Override
    public void answer(StandInServer.Request r, StandInServer.Reply reply) {
        Matcher m = PATH.matcher(r.uri());
        if (!"POST".equals(r.method()) || !m.matches()) {
            reply.json(404, error("404", "Resource not found"));
            return;
        }
        if (!m.group(3).matches("(.*&)?api-version=[^&]+(&.*)?")) {
            reply.json(404, error("404", "Resource not found"));
            return;
        }
        String given = r.headers().get("api-key");
        String bearer = r.headers().get("authorization");
        if (given == null && bearer != null && bearer.startsWith("Bearer ")) {
            given = bearer.substring(7);
        }
        if (given == null || (key != null && !key.equals(given))) {
            reply.json(401, error("401", "Access denied due to invalid subscription key or wrong API endpoint."));
            return;
        }
        String deployment = URLDecoder.decode(m.group(1), StandardCharsets.UTF_8);
        int fail = FakeModel.failStatus(deployment);
        if (fail != 0) {
            reply.json(fail, error(String.valueOf(fail), "Scripted failure of " + deployment + "."));
            return;
        }
        ByteBuf body = Unpooled.wrappedBuffer(r.body().getBytes(StandardCharsets.UTF_8));
        try {
            if (m.group(2).equals("embeddings")) {
                reply.json(200, new String(llm.embeddings(body, deployment), StandardCharsets.UTF_8));
                return;
            }
            MockLlm.ChatAnswer a = llm.chat(body, deployment);
            var req = r.json();
            if (req.path("stream").asBoolean(false)) {
                List<String> events = new ArrayList<>();
                for (byte[] e : llm.streamEvents(a, req.path("stream_options").path("include_usage").asBoolean(false))) {
                    events.add(new String(e, StandardCharsets.UTF_8));
                }
                reply.events(events, 0);
            } else {
                reply.json(200, new String(llm.chatJson(a), StandardCharsets.UTF_8));
            }
        } catch (MockLlm.BadRequest e) {
            reply.json(400, error(e.code, e.getMessage()));
        }
    }

    private static String error(String code, String message) {
        return "{\"error\":{\"code\":\"" + code + "\",\"message\":\"" + message.replace("\"", "'") + "\"}}";
    }
}
