package io.nemorouter.filters.dashboard;

import io.nemorouter.core.exchange.Exchange;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The dashboard's files, read from the class path once at start and served from memory: the pages
 * under {@code ui/} next to this class, and uPlot from its WebJar as {@code /ui/vendor/...}.
 */
final class UiAssets {
    static final String ROOT = "io/nemorouter/filters/dashboard/ui/";
    private static final String UPLOT = "META-INF/resources/webjars/uplot/1.6.30/dist/";
    /**
     * Only the gateway's own files, no inline script or style, no frames, no form posts: a page that
     * holds an admin key in its session must not run anything it did not ship.
     */
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /** One file: its bytes, type and validator. */
    record Asset(byte[] bytes, String type, String etag) {
    }

    private final Map<String, Asset> byPath;
    /** Set when the pages are read from a source directory on each request (working on them); null in production. */
    private final Path devDir;

    private UiAssets(Map<String, Asset> byPath, Path devDir) {
        this.byPath = byPath;
        this.devDir = devDir;
    }

    static UiAssets load() throws IOException {
        ClassLoader cl = UiAssets.class.getClassLoader();
        URL root = cl.getResource(ROOT);
        if (root == null) {
            throw new IOException("the dashboard's pages are not on the class path (" + ROOT + ")");
        }
        URI uri;
        try {
            uri = root.toURI();
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
        return new UiAssets(read(uri), null);
    }

    /** The pages of a source directory ({@code nemo.ui.dir}), read again on each request. */
    static UiAssets fromDirectory(Path dir) throws IOException {
        if (!Files.isRegularFile(dir.resolve("index.html"))) {
            throw new IOException(dir + " has no index.html");
        }
        return new UiAssets(read(dir.toUri()), dir);
    }

    private static Map<String, Asset> read(URI ui) throws IOException {
        Map<String, Asset> files = new HashMap<>();
        ClassLoader cl = UiAssets.class.getClassLoader();
        walk(ui, (rel, bytes) -> files.put("/ui/" + rel, asset(rel, bytes)));
        for (String vendor : new String[]{"uPlot.iife.min.js", "uPlot.min.css"}) {
            try (InputStream in = cl.getResourceAsStream(UPLOT + vendor)) {
                if (in == null) {
                    throw new IOException("uPlot's WebJar is not on the class path (" + UPLOT + vendor + ")");
                }
                files.put("/ui/vendor/" + vendor, asset(vendor, in.readAllBytes()));
            }
        }
        if (!files.containsKey("/ui/index.html")) {
            throw new IOException("the dashboard's pages are not on the class path (" + ROOT + "index.html)");
        }
        files.put("/ui/", files.get("/ui/index.html"));
        return Map.copyOf(files);
    }

    /** {@code /ui} → {@code /ui/}, so the pages' relative links resolve under it. */
    static void redirectToIndex(Exchange ex) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.FOUND, Unpooled.EMPTY_BUFFER);
        r.headers().set(HttpHeaderNames.LOCATION, "/ui/");
        ex.respond(r);
    }

    void serve(Exchange ex) {
        String path = ex.path();
        Map<String, Asset> byPath = this.byPath;
        if (devDir != null) {
            try {
                byPath = read(devDir.toUri()); // a developer's switch: blocking reads of a few small files are fine there
            } catch (IOException e) {
                ex.respond(io.nemorouter.core.openai.OpenAiError.internal("The dashboard's directory could not be read: " + e.getMessage()));
                return;
            }
        }
        Asset a = byPath.get(path);
        if (a == null && !path.substring("/ui/".length()).contains(".")) {
            a = byPath.get("/ui/"); // a page's own address (/ui/keys): the app routes it
        }
        FullHttpResponse r;
        if (a == null) {
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND,
                    Unpooled.copiedBuffer("Not found\n", StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        } else if (a.etag.equals(ex.requestHeaders().get(HttpHeaderNames.IF_NONE_MATCH))) {
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED, Unpooled.EMPTY_BUFFER);
            r.headers().set(HttpHeaderNames.ETAG, a.etag);
        } else {
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    ex.method().equals(HttpMethod.HEAD) ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(a.bytes));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, a.type).set(HttpHeaderNames.ETAG, a.etag);
        }
        secure(r.headers());
        ex.respond(r);
    }

    /** Headers on every dashboard answer. */
    static void secure(HttpHeaders h) {
        h.set("content-security-policy", CSP)
                .set("x-content-type-options", "nosniff")
                .set("x-frame-options", "DENY")
                .set("referrer-policy", "no-referrer")
                .set(HttpHeaderNames.CACHE_CONTROL, "no-cache"); // revalidated by ETag: a new build shows at once
    }

    private static Asset asset(String name, byte[] bytes) {
        return new Asset(bytes, type(name), etag(bytes));
    }

    static String type(String name) {
        String ext = name.substring(name.lastIndexOf('.') + 1);
        return switch (ext) {
            case "html" -> "text/html; charset=utf-8";
            case "js", "mjs" -> "text/javascript; charset=utf-8";
            case "css" -> "text/css; charset=utf-8";
            case "svg" -> "image/svg+xml";
            case "png" -> "image/png";
            case "json" -> "application/json";
            default -> "application/octet-stream";
        };
    }

    private static String etag(byte[] bytes) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(bytes);
            return "\"" + HexFormat.of().formatHex(d, 0, 8) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private interface FileSink {
        void accept(String relativePath, byte[] bytes) throws IOException;
    }

    /** Every regular file under {@code uri}, a directory on disk (tests, IDE, nemo.ui.dir) or in a jar (the built gateway). */
    private static void walk(URI uri, FileSink sink) throws IOException {
        if ("jar".equals(uri.getScheme())) {
            FileSystem fs;
            boolean opened = false;
            try {
                fs = FileSystems.newFileSystem(uri, Map.of());
                opened = true;
            } catch (FileSystemAlreadyExistsException e) {
                fs = FileSystems.getFileSystem(uri);
            }
            try {
                walk(fs.provider().getPath(uri), sink);
            } finally {
                if (opened) {
                    fs.close();
                }
            }
        } else {
            walk(Path.of(uri), sink);
        }
    }

    private static void walk(Path root, FileSink sink) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                sink.accept(root.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
            }
        }
    }
}
