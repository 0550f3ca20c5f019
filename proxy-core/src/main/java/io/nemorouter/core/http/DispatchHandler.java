package io.nemorouter.core.http;

import io.nemorouter.core.GatewayContext;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.filter.ExchangeFilter;
import io.nemorouter.core.provider.Provider;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The end of the pipeline: hands a routed exchange to its deployment's provider, and answers
 * {@code GET /v1/models} from the catalog. Stateless, shared by all connections.
 */
@ChannelHandler.Sharable
public final class DispatchHandler extends ExchangeFilter {
    private final GatewayContext context;
    private final byte[] modelList;

    public DispatchHandler(GatewayContext context) {
        this.context = context;
        this.modelList = modelListJson(context).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    protected void filter(ChannelHandlerContext ctx, Exchange exchange) {
        if (exchange.endpoint == Endpoint.MODELS) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    ctx.alloc().buffer(modelList.length).writeBytes(modelList));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
            exchange.respond(r);
            return;
        }
        Deployment d = exchange.deployment();
        if (d == null) {
            exchange.respond(OpenAiError.modelNotFound(exchange.fields.model));
            return;
        }
        Provider provider = context.provider(d);
        exchange.markDispatched();
        provider.handle(exchange);
    }

    private static String modelListJson(GatewayContext context) {
        long created = System.currentTimeMillis() / 1000;
        Set<String> names = new LinkedHashSet<>();
        context.catalog.names().forEach(names::add);
        StringBuilder b = new StringBuilder("{\"object\":\"list\",\"data\":[");
        boolean first = true;
        for (String name : names) {
            if (!first) {
                b.append(',');
            }
            first = false;
            b.append("{\"id\":");
            Json.appendQuoted(b, name);
            b.append(",\"object\":\"model\",\"created\":").append(created).append(",\"owned_by\":");
            Json.appendQuoted(b, context.catalog.deployments(name).get(0).provider());
            b.append('}');
        }
        return b.append("]}").toString();
    }
}
