package io.nemorouter.examples.stamp;

import com.typesafe.config.Config;
import io.nemorouter.core.exchange.Key;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.Phase;
import io.netty.handler.codec.http.HttpMethod;

import java.util.List;

/**
 * {@code stamp}: the example extension, one small piece of each thing the SPI offers. Its filters
 * refuse the models in {@code refuse} (a 403 in OpenAI's envelope), put a configurable header on
 * every answer, note who is asking as per-request state that a later filter reads after routing
 * ({@code x-stamp-route: <client> via <deployment>}), and remove the members in {@code strip} from
 * what goes upstream. Its observer counts requests and tokens per model, streamed answers
 * included, for Prometheus and for its admin route, {@code GET /stamp/stats}.
 *
 * <p>Written against the public API only ({@code io.nemorouter.core.exchange}, {@code .extension},
 * {@code .openai}, {@code .config}): the gateway's internals may change in any release; this may not
 * need to.
 */
public final class StampExtension implements Extension {
    /** Who is asking (the {@code x-stamp-client} header, or "anonymous"): set before routing, read after. */
    static final Key<String> CLIENT = Key.of("stamp.client");

    private ModelStats stats;

    @Override
    public String name() {
        return "stamp";
    }

    @Override
    public void start(ExtensionContext context) {
        Config c = context.config();
        String header = c.getString("header");
        if (header.isBlank() || !header.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f && ch != ':')) {
            throw context.configError("header", "must be a header name, got \"" + header + "\"");
        }
        List<String> refuse = c.getStringList("refuse");
        List<String> strip = c.getStringList("strip");
        if (strip.contains("model")) {
            throw context.configError("strip", "cannot remove model: the upstream needs it");
        }
        stats = new ModelStats(context.metrics());

        // phase and order: refusing comes first, so nothing else is spent on a refused request
        context.filter(Phase.BEFORE_ROUTING, 100, new RefuseModels(refuse));
        context.filter(Phase.BEFORE_ROUTING, 200, new StampHeader(header, c.getString("value")));
        if (!strip.isEmpty()) {
            context.filter(Phase.BEFORE_ROUTING, 300, new StripMembers(strip));
        }
        context.filter(Phase.DEPLOYMENT_CHOSEN, 100, new RouteHeader());
        context.observer(stats);
        String token = c.getString("admin_token");
        if (!token.isEmpty()) {
            context.route(HttpMethod.GET, "/stamp/stats", new BearerToken(token), stats::answer);
        }
    }
}
