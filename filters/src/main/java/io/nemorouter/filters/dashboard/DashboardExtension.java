package io.nemorouter.filters.dashboard;

import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.RouteAuth;
import io.netty.handler.codec.http.HttpMethod;

/**
 * The web dashboard at {@code /ui}: static pages that sign in with a key held in the browser's
 * session storage and show what the gateway's own admin and spend APIs answer. The extension only
 * serves the files (from the jar: nothing is fetched from a network at run time); every figure on
 * a page comes from an API a script can call too, so the pages need no route of their own and
 * add nothing to the request path. Off with {@code nemo.ui.enabled = false}; {@code nemo.ui.dir}
 * serves the files from a source directory instead, re-read on every request, to work on the pages
 * without rebuilding the jar.
 */
public final class DashboardExtension implements Extension {
    @Override
    public String name() {
        return "ui";
    }

    @Override
    public void start(ExtensionContext ctx) throws Exception {
        String dir = ctx.config().getString("dir");
        UiAssets assets = dir.isEmpty() ? UiAssets.load() : UiAssets.fromDirectory(java.nio.file.Path.of(dir));
        // The pages hold no data and no secret: anyone may load them; the APIs they call ask for the key.
        ctx.route(HttpMethod.GET, "/ui", RouteAuth.NONE, UiAssets::redirectToIndex);
        ctx.route(HttpMethod.GET, "/ui/*", RouteAuth.NONE, assets::serve);
    }
}
