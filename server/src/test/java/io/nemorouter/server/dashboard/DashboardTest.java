package io.nemorouter.server.dashboard;

import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dashboard's files: served from the jar at /ui with a strict policy, validated by ETag, off when configured so. */
class DashboardTest {
    @Test
    void thePagesAndChartLibraryAreServedFromTheJarWithAStrictPolicy() throws Exception {
        try (TestGateway gw = TestGateway.builder().start()) {
            HttpResponse<String> index = gw.get("/ui/");
            assertEquals(200, index.statusCode());
            assertTrue(index.headers().firstValue("content-type").orElse("").startsWith("text/html"));
            assertTrue(index.body().contains("<script type=\"module\" src=\"/ui/app.js\">"), index.body());
            String csp = index.headers().firstValue("content-security-policy").orElse("");
            assertTrue(csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), csp);
            assertEquals("nosniff", index.headers().firstValue("x-content-type-options").orElse(""));
            assertEquals("no-referrer", index.headers().firstValue("referrer-policy").orElse(""));

            HttpResponse<String> uplot = gw.get("/ui/vendor/uPlot.iife.min.js");
            assertEquals(200, uplot.statusCode());
            assertTrue(uplot.headers().firstValue("content-type").orElse("").startsWith("text/javascript"));
            assertTrue(uplot.body().contains("uPlot"), "the WebJar's script");
            assertEquals(200, gw.get("/ui/app.js").statusCode());
            assertEquals(200, gw.get("/ui/pages/keys.js").statusCode());

            // a page's address is the app; a missing file is a 404, not the app
            assertEquals(index.body(), gw.get("/ui/keys").body());
            assertEquals(404, gw.get("/ui/nothing.js").statusCode());
            assertEquals(302, gw.get("/ui").statusCode());
            assertEquals("/ui/", gw.get("/ui").headers().firstValue("location").orElse(""));

            String etag = index.headers().firstValue("etag").orElseThrow();
            HttpResponse<String> again = gw.get("/ui/", "if-none-match", etag);
            assertEquals(304, again.statusCode());
            assertEquals("", again.body());
        }
    }

    @Test
    void theDashboardCanBeTurnedOff() throws Exception {
        try (TestGateway gw = TestGateway.builder().config("nemo.ui.enabled = false").start()) {
            assertEquals(404, gw.get("/ui/").statusCode());
        }
    }
}
