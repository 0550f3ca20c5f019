package io.nemorouter.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Typed view of the {@code nemo} block. Every default lives in {@code reference.conf};
 * this class only reads and checks, so a wrong value fails at start with its file and line.
 */
public final class GatewayConfig {
    /** Catalog-entry keys every entry may have, whatever its provider; providers and extensions declare their own. */
    public static final Set<String> COMMON_MODEL_KEYS = Set.of("name", "provider", "model", "id", "tags", "optional",
            "input_cost_per_mtok", "output_cost_per_mtok", "cached_input_cost_per_mtok", "cache_write_cost_per_mtok", "max_output_tokens",
            "context_window");

    /** The whole config: the user's file over every {@code reference.conf} on the class path. */
    public final Config root;
    /** The defaults alone (every {@code reference.conf}): what keys exist. */
    public final Config reference;
    public final String host;
    public final int port;
    public final int ioThreads;
    public final String transport;
    public final int maxBodyBytes;
    public final int maxHeaderBytes;
    public final int maxInitialLineLength;
    public final Duration clientIdleTimeout;
    public final Duration drainGrace;
    public final String dataDir;
    public final Duration connectTimeout;
    public final Duration firstByteTimeout;
    public final Duration totalTimeout;
    public final Duration upstreamIdleTimeout;
    public final int maxIdlePerOrigin;
    public final int maxBufferedResponseBytes;
    /** PEM bundle of the CAs trusted for https upstreams instead of the JDK's; null for the JDK's. */
    public final String upstreamCaFile;
    /** The start-up warm-up's time budget (zero: none) and request cap; see {@code reference.conf}. */
    public final Duration warmup;
    /** Whether {@code nemo.server.host} comes from the user (a file, an override), not the defaults. */
    public final boolean hostSetByUser;
    public final int warmupRequests;
    /** How long a filter may keep a request waiting ({@code Verdict.PENDING}) before it is answered 503. */
    public final Duration filterTimeout;
    public final List<Deployment> deployments;
    /** Entries dropped because they are {@code optional} and their key is unset; logged at start. */
    public final List<String> skipped = new ArrayList<>();
    /** Entries with no price of their own and none in the price table ({@code name (provider/model)}); logged at start. */
    public final List<String> unpriced = new ArrayList<>();

    public GatewayConfig(Config root, Config reference) {
        this.root = root;
        this.reference = reference;
        Config nemo = root.getConfig("nemo");
        host = root.getString("nemo.server.host");
        com.typesafe.config.ConfigOrigin hostOrigin = root.getValue("nemo.server.host").origin();
        hostSetByUser = hostOrigin.resource() == null || !hostOrigin.resource().endsWith("reference.conf");
        port = intIn(root, "nemo.server.port", 0, 65535);
        ioThreads = intIn(root, "nemo.server.io_threads", 0, 1024);
        transport = oneOf(root, "nemo.server.transport", "auto", "epoll", "nio");
        maxBodyBytes = bytesIn(root, "nemo.server.max_body_size");
        maxHeaderBytes = bytesIn(root, "nemo.server.max_header_size");
        maxInitialLineLength = bytesIn(root, "nemo.server.max_initial_line_length");
        clientIdleTimeout = positive(root, "nemo.server.idle_timeout");
        drainGrace = root.getDuration("nemo.server.drain_grace");
        filterTimeout = positive(root, "nemo.server.filter_timeout");
        warmup = root.getDuration("nemo.server.warmup");
        warmupRequests = intIn(root, "nemo.server.warmup_requests", 0, 10_000_000);
        dataDir = root.getString("nemo.data_dir");
        connectTimeout = positive(root, "nemo.upstream.connect_timeout");
        firstByteTimeout = positive(root, "nemo.upstream.first_byte_timeout");
        totalTimeout = positive(root, "nemo.upstream.total_timeout");
        upstreamIdleTimeout = positive(root, "nemo.upstream.idle_timeout");
        maxIdlePerOrigin = intIn(root, "nemo.upstream.max_idle_per_origin", 0, 100_000);
        maxBufferedResponseBytes = bytesIn(root, "nemo.upstream.max_buffered_response");
        String ca = root.getString("nemo.upstream.ca_file");
        if (!ca.isEmpty() && !java.nio.file.Files.isReadable(java.nio.file.Path.of(ca))) {
            throw ConfigError.at(root.getValue("nemo.upstream.ca_file").origin(), "nemo.upstream.ca_file", "cannot read \"" + ca + "\"");
        }
        upstreamCaFile = ca.isEmpty() ? null : ca;
        deployments = readModels(nemo);
    }

    private List<Deployment> readModels(Config nemo) {
        List<Deployment> out = new ArrayList<>();
        List<? extends ConfigValue> list = nemo.getList("models");
        for (int i = 0; i < list.size(); i++) {
            ConfigValue value = list.get(i);
            String path = "nemo.models[" + i + "]";
            if (value.valueType() != ConfigValueType.OBJECT) {
                throw ConfigError.at(value.origin(), path, "each model entry must be an object { name = ..., provider = ... }");
            }
            Config entry = ((com.typesafe.config.ConfigObject) value).toConfig();
            String name = requiredString(entry, "name", path);
            String provider = requiredString(entry, "provider", path);
            String model = entry.hasPath("model") ? entry.getString("model") : name;
            String apiKey = entry.hasPath("api_key") ? entry.getString("api_key") : null;
            if (apiKey != null && apiKey.isBlank()) {
                apiKey = null;
            }
            boolean optional = entry.hasPath("optional") && entry.getBoolean("optional");
            if (optional && apiKey == null) {
                skipped.add(name + " (" + provider + "): no api_key set");
                continue;
            }
            String apiBase = entry.hasPath("api_base") ? entry.getString("api_base") : null;
            if (apiBase != null) {
                checkUrl(entry, apiBase, path + ".api_base");
            }
            List<String> tags = entry.hasPath("tags") ? List.copyOf(entry.getStringList("tags")) : List.of();
            String id = entry.hasPath("id") ? entry.getString("id") : provider + "/" + model;
            Pricing pricing = pricing(entry, model, path);
            if (!pricing.known()) {
                unpriced.add(name + " (" + id + ")");
            }
            out.add(new Deployment(id, name, provider, apiBase, apiKey, model, tags, pricing, entry, path));
        }
        return List.copyOf(out);
    }

    private static void checkUrl(Config entry, String url, String path) {
        try {
            URI uri = new URI(url);
            String scheme = uri.getScheme();
            if (uri.getHost() == null || !("http".equals(scheme) || "https".equals(scheme))) {
                throw ConfigError.at(entry.getValue("api_base").origin(), path,
                        "must be an http:// or https:// URL with a host, got \"" + url + "\"");
            }
        } catch (java.net.URISyntaxException e) {
            throw ConfigError.at(entry.getValue("api_base").origin(), path, "not a URL: " + e.getMessage());
        }
    }

    private static String requiredString(Config entry, String key, String path) {
        if (!entry.hasPath(key)) {
            throw ConfigError.at(entry.origin(), path + "." + key, "is required");
        }
        String v = entry.getString(key);
        if (v.isBlank()) {
            throw ConfigError.at(entry.getValue(key).origin(), path + "." + key, "must not be empty");
        }
        return v;
    }

    /**
     * The entry's prices where it sets them, else the price table's for its {@code model}, price by
     * price; the context window and maximum output likewise. An entry that sets any price is billed
     * flat (no long-context tier), and an unpriced model with one price set is priced ({@code catalog}).
     */
    private static Pricing pricing(Config entry, String model, String path) {
        Pricing table = PriceTable.bundled().find(model);
        Pricing base = table != null ? table : Pricing.UNPRICED;
        boolean ownInput = entry.hasPath("input_cost_per_mtok");
        boolean own = ownInput || entry.hasPath("output_cost_per_mtok") || entry.hasPath("cached_input_cost_per_mtok")
                || entry.hasPath("cache_write_cost_per_mtok");
        // each price the entry sets replaces the table's; one it leaves out is still the table's
        double input = ownInput ? cost(entry, "input_cost_per_mtok", path) : base.input();
        double output = entry.hasPath("output_cost_per_mtok") ? cost(entry, "output_cost_per_mtok", path) : base.output();
        double cached = entry.hasPath("cached_input_cost_per_mtok") ? cost(entry, "cached_input_cost_per_mtok", path)
                : ownInput ? input : base.cachedInput();
        long window = entry.hasPath("context_window") ? tokens(entry, "context_window", path) : base.contextWindow();
        long maxOut = entry.hasPath("max_output_tokens") ? tokens(entry, "max_output_tokens", path) : base.maxOutputTokens();
        String source = own ? "catalog" : base.source();
        // a cache write at the entry's own rate, else the table's when the entry keeps the table's input, else at input
        double write = entry.hasPath("cache_write_cost_per_mtok") ? cost(entry, "cache_write_cost_per_mtok", path)
                : ownInput ? input : base.cacheWrite();
        return new Pricing(input, cached, output, own ? null : base.longContext(), window, maxOut, source, write);
    }

    private static long tokens(Config entry, String key, String path) {
        long v;
        try {
            v = entry.getLong(key);
        } catch (ConfigException.WrongType e) {
            throw ConfigError.at(entry.getValue(key).origin(), path + "." + key, "must be a whole number of tokens");
        }
        if (v <= 0) {
            throw ConfigError.at(entry.getValue(key).origin(), path + "." + key, "must be a positive number of tokens");
        }
        return v;
    }

    private static double cost(Config entry, String key, String path) {
        if (!entry.hasPath(key)) {
            return 0;
        }
        double v = entry.getDouble(key);
        if (v < 0 || Double.isNaN(v)) {
            throw ConfigError.at(entry.getValue(key).origin(), path + "." + key, "must be a number >= 0");
        }
        return v;
    }

    private static int intIn(Config c, String path, int min, int max) {
        int v = c.getInt(path);
        if (v < min || v > max) {
            throw ConfigError.at(c.getValue(path).origin(), path, "must be between " + min + " and " + max + ", got " + v);
        }
        return v;
    }

    private static int bytesIn(Config c, String path) {
        long v = c.getBytes(path);
        if (v <= 0 || v > Integer.MAX_VALUE) {
            throw ConfigError.at(c.getValue(path).origin(), path, "must be between 1 byte and 2 GiB, got " + v);
        }
        return (int) v;
    }

    private static Duration positive(Config c, String path) {
        Duration d = c.getDuration(path);
        if (d.isNegative() || d.isZero()) {
            throw ConfigError.at(c.getValue(path).origin(), path, "must be a positive duration");
        }
        return d;
    }

    private static String oneOf(Config c, String path, String... allowed) {
        String v = c.getString(path);
        for (String a : allowed) {
            if (a.equals(v)) {
                return v;
            }
        }
        throw ConfigError.at(c.getValue(path).origin(), path, "must be one of " + String.join(", ", allowed) + ", got \"" + v + "\"");
    }

    /**
     * Turns Typesafe Config's own exceptions (syntax, a value of the wrong type, a duration or size
     * it cannot read) into the one-line form: {@code file:line: key: problem}.
     */
    public static ConfigError explain(ConfigException e) {
        return ConfigError.from(e);
    }
}
