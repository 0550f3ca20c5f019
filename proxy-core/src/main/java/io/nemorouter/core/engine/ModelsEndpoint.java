package io.nemorouter.core.engine;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.ModelCatalog;
import io.nemorouter.core.internal.json.Json;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code GET /v1/models} and {@code GET /v1/models/{id}} from the catalog, in OpenAI's shapes: the
 * names clients may ask for, each owned by the provider of its first deployment. Built once:
 * the catalog does not change while the gateway runs.
 */
final class ModelsEndpoint {
    private final byte[] list;
    private final Map<String, byte[]> byId = new HashMap<>();

    ModelsEndpoint(ModelCatalog catalog) {
        long created = System.currentTimeMillis() / 1000;
        StringBuilder all = new StringBuilder("{\"object\":\"list\",\"data\":[");
        boolean first = true;
        for (String name : catalog.names()) {
            String one = model(name, catalog.deployments(name).get(0), created);
            byId.put(name, one.getBytes(StandardCharsets.UTF_8));
            all.append(first ? "" : ",").append(one);
            first = false;
        }
        list = all.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String model(String name, Deployment d, long created) {
        StringBuilder b = new StringBuilder("{\"id\":");
        Json.appendQuoted(b, name);
        b.append(",\"object\":\"model\",\"created\":").append(created).append(",\"owned_by\":");
        Json.appendQuoted(b, d.provider());
        return b.append('}').toString();
    }

    void answer(ServerExchange ex) {
        if (ex.endpoint() == Endpoint.MODELS) {
            ex.respond(json(ex, list));
            return;
        }
        String id = Endpoint.modelId(ex.uri());
        byte[] one = byId.get(id);
        if (one == null) {
            ex.respond(OpenAiError.modelNotFound(id));
        } else {
            ex.respond(json(ex, one));
        }
    }

    private static FullHttpResponse json(ServerExchange ex, byte[] bytes) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                ex.alloc().buffer(bytes.length).writeBytes(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        return r;
    }
}
