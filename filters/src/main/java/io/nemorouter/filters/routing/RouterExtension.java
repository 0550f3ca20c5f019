package io.nemorouter.filters.routing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.ModelCatalog;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.RouteAuth;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.filters.cluster.RedisLink;
import io.nemorouter.filters.keys.Readers;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.ScheduledFuture;
import io.prometheus.client.Gauge;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code router}: model groups, balancing, retries, fallback chains, cooldowns, capability tags,
 * {@code auto} and A/B experiments ({@link Router}), configured in {@code nemo.router}; catalog
 * entries may set {@code weight}, {@code rpm}, {@code tpm} and {@code max_parallel}. Serves
 * {@code GET /health/deployments} (master key) and exports each deployment's state, in-flight
 * requests and latency average as metrics. In cluster mode the deployments' circuits are shared
 * with the other replicas ({@link SharedCircuits}).
 */
public final class RouterExtension implements Extension {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> GROUP_KEYS = Set.of("strategy", "num_retries", "fallbacks", "context_window_fallbacks",
            "allowed_fails", "cooldown_time", "failure_window", "retry_backoff", "max_retry_after");
    /** How often latencies are folded into their averages, and the metrics refreshed. */
    private static final long TICK_MILLIS = 500;

    private final java.time.Clock clock;
    private ScheduledFuture<?> ticker;
    private Router router;
    private SharedCircuits shared;

    public RouterExtension() {
        this(java.time.Clock.systemUTC());
    }

    public RouterExtension(java.time.Clock clock) {
        this.clock = clock;
    }

    @Override
    public String name() {
        return "router";
    }

    @Override
    public int order() {
        return 400; // after keys (its Readers service)
    }

    @Override
    public Set<String> catalogKeys() {
        return Set.of("weight", "rpm", "tpm", "max_parallel", "stand_in");
    }

    @Override
    public void start(ExtensionContext ctx) {
        Config c = ctx.config();
        GroupSettings defaults = settings(ctx, c, null, "");
        ModelCatalog catalog = ctx.catalog();
        Set<String> catalogTags = new LinkedHashSet<>();
        catalog.all().forEach(d -> catalogTags.addAll(d.tags()));
        Capabilities capabilities = new Capabilities(catalogTags);

        Config groupsConfig = c.getConfig("groups");
        Map<String, Group> groups = new LinkedHashMap<>();
        for (String name : catalog.names()) {
            String path = "groups." + quoted(name);
            GroupSettings s = c.hasPath(path) ? settings(ctx, c.getConfig(path), defaults, path + ".") : defaults;
            groups.put(name, new Group(name, members(ctx, serving(catalog.deployments(name)), capabilities, s), s));
        }
        for (String name : groupsConfig.root().keySet()) {
            if (!groups.containsKey(name)) {
                throw ctx.configError("groups." + quoted(name), "no catalog entry is named \"" + name + "\"");
            }
        }
        for (Group g : groups.values()) {
            List<Group> chain = new ArrayList<>(List.of(g));
            for (String f : g.settings.fallbacks()) {
                chain.add(group(ctx, groups, f, "groups." + quoted(g.name) + ".fallbacks"));
            }
            g.chain = chain.toArray(new Group[0]);
            List<Group> cw = new ArrayList<>();
            for (String f : g.settings.contextWindowFallbacks()) {
                cw.add(group(ctx, groups, f, "groups." + quoted(g.name) + ".context_window_fallbacks"));
            }
            g.contextWindowChain = cw.toArray(new Group[0]);
        }
        for (Group g : groups.values()) {
            for (DeploymentState d : g.members) {
                d.coolable = g.members.length > 1 || g.chain.length > 1;
            }
        }
        RedisLink link = ctx.service(RedisLink.class);
        if (link != null) {
            shared = new SharedCircuits(link, groups.values().stream().flatMap(g -> java.util.Arrays.stream(g.members)).toList(),
                    clock::millis);
        }
        long embedding = capabilities.bit("embedding");
        List<DeploymentState> chat = new ArrayList<>();
        List<DeploymentState> embeddings = new ArrayList<>();
        for (Group g : groups.values()) {
            for (DeploymentState d : g.members) {
                ((d.tags & embedding) != 0 ? embeddings : chat).add(d);
            }
        }
        Group[] autoChat = autoGroups(chat, defaults);
        Group[] autoEmbeddings = autoGroups(embeddings, defaults);
        router = new Router(groups, experiments(ctx, c, groups), autoChat, autoEmbeddings, capabilities, clock::millis);
        ctx.routingStrategy(router);
        ctx.observer(router);

        Gauge state = Gauge.build("nemo_deployment_state", "Each deployment's state: 0 healthy, 1 half-open (a probe may go), 2 cooling down")
                .labelNames("deployment").register(ctx.metrics());
        Gauge inFlight = Gauge.build("nemo_deployment_in_flight", "Requests in flight on each deployment")
                .labelNames("deployment").register(ctx.metrics());
        Gauge latency = Gauge.build("nemo_deployment_latency_ewma_seconds",
                "Each deployment's recent latency (time to first token for streams), a running average").labelNames("deployment")
                .register(ctx.metrics());
        ticker = ctx.eventLoops().next().scheduleAtFixedRate(() -> {
            long now = clock.millis();
            for (Group g : groups.values()) {
                for (DeploymentState d : g.members) {
                    d.foldLatencies(now);
                    String id = d.deployment.id();
                    state.labels(id).set(d.state(now).ordinal());
                    inFlight.labels(id).set(d.inFlight());
                    latency.labels(id).set(d.latencyEwmaMillis() / 1000.0);
                }
            }
        }, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);

        Readers readers = ctx.service(Readers.class);
        RouteAuth admin = readers != null ? readers::admitMaster : ex -> new OpenAiError(HttpResponseStatus.FORBIDDEN,
                "permission_error", "admin_api_disabled", null, "The deployments' health needs the keys extension and a master key.");
        ctx.route(HttpMethod.GET, "/health/deployments", admin, ex -> {
            try {
                var r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.wrappedBuffer(JSON.writeValueAsBytes(health(groups.values()))));
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
                ex.respond(r);
            } catch (java.io.IOException e) {
                ex.respond(OpenAiError.internal("The deployments' health could not be written."));
            }
        });
    }

    /** {@code GET /health/deployments}: every deployment's state, load, latency and error rate, by group. */
    private ObjectNode health(Iterable<Group> groups) {
        long now = clock.millis();
        ObjectNode out = JSON.createObjectNode();
        ArrayNode list = out.putArray("deployments");
        for (Group g : groups) {
            for (DeploymentState d : g.members) {
                ObjectNode o = list.addObject();
                o.put("id", d.deployment.id());
                o.put("group", g.name);
                o.put("provider", d.deployment.provider());
                o.put("state", d.state(now).name().toLowerCase());
                o.put("cooldown_remaining_ms", d.cooldownMillis(now));
                String from = d.learnedFrom();
                if (from != null) {
                    o.put("learned_from", from); // the replica that opened (or closed) its circuit
                }
                o.put("quota_reset_ms", d.quotaResetMillis(now));
                o.put("in_flight", d.inFlight());
                o.put("latency_ewma_ms", Math.round(d.latencyEwmaMillis() * 1000) / 1000.0);
                long requests = d.requests.sum();
                long failures = d.failures.sum();
                o.put("requests", requests);
                o.put("failures", failures);
                o.put("error_rate", requests == 0 ? 0 : (double) failures / requests);
                o.put("strategy", g.settings.balance().configName);
            }
        }
        return out;
    }

    /**
     * The entries of a name that serve it: a {@code stand_in = true} entry (the mock behind a real
     * upstream whose key may be unset) only when no other entry is left.
     */
    private static List<Deployment> serving(List<Deployment> all) {
        List<Deployment> real = all.stream().filter(d -> !(d.settings().hasPath("stand_in") && d.settings().getBoolean("stand_in"))).toList();
        return real.isEmpty() ? all : real;
    }

    /**
     * {@code auto}'s chain: the deployments in groups of at most 64 (a request's tried members fit a
     * {@code long}), chosen among by the default strategy, the later groups when the earlier have
     * none free.
     */
    private static Group[] autoGroups(List<DeploymentState> all, GroupSettings defaults) {
        List<Group> out = new ArrayList<>();
        for (int from = 0; from < all.size(); from += Group.MAX_MEMBERS) {
            out.add(new Group(Router.AUTO, all.subList(from, Math.min(all.size(), from + Group.MAX_MEMBERS))
                    .toArray(new DeploymentState[0]), defaults));
        }
        Group[] chain = out.toArray(new Group[0]);
        for (Group g : chain) {
            g.chain = chain;
        }
        return chain;
    }

    private static Group group(ExtensionContext ctx, Map<String, Group> groups, String name, String key) {
        Group g = groups.get(name);
        if (g == null) {
            throw ctx.configError(key, "no catalog entry is named \"" + name + "\"");
        }
        return g;
    }

    private static DeploymentState[] members(ExtensionContext ctx, List<Deployment> ds, Capabilities capabilities, GroupSettings s) {
        if (ds.size() > Group.MAX_MEMBERS) {
            throw ctx.configError("groups", "\"" + ds.get(0).name() + "\" has " + ds.size() + " catalog entries; a group takes at most "
                    + Group.MAX_MEMBERS);
        }
        DeploymentState[] out = new DeploymentState[ds.size()];
        for (int i = 0; i < out.length; i++) {
            Deployment d = ds.get(i);
            Config e = d.settings();
            int weight = intAt(d, e, "weight", 1, 0);
            long rpm = intAt(d, e, "rpm", 0, 0);
            long tpm = e.hasPath("tpm") ? longAt(d, e, "tpm") : 0;
            int maxParallel = intAt(d, e, "max_parallel", 0, 0);
            out[i] = new DeploymentState(d, weight, rpm, tpm, maxParallel, capabilities.mask(d.tags()), s);
        }
        return out;
    }

    private static int intAt(Deployment d, Config e, String key, int absent, int min) {
        if (!e.hasPath(key)) {
            return absent;
        }
        long v = longAt(d, e, key);
        if (v < min || v > Integer.MAX_VALUE) {
            throw new io.nemorouter.core.config.ConfigError(d.path() + "." + key + ": must be a whole number from " + min);
        }
        return (int) v;
    }

    private static long longAt(Deployment d, Config e, String key) {
        try {
            long v = e.getLong(key);
            if (v < 0) {
                throw new io.nemorouter.core.config.ConfigError(d.path() + "." + key + ": must not be negative");
            }
            return v;
        } catch (ConfigException.WrongType w) {
            throw new io.nemorouter.core.config.ConfigError(d.path() + "." + key + ": must be a whole number");
        }
    }

    /** A group's settings from {@code c} (prefix: where it is, for errors), each over {@code defaults} (null: the router's own block). */
    private static GroupSettings settings(ExtensionContext ctx, Config c, GroupSettings defaults, String prefix) {
        if (defaults != null) {
            for (String k : c.root().keySet()) {
                if (!GROUP_KEYS.contains(k)) {
                    throw ctx.configError(prefix + k, "unknown key (known: " + String.join(", ", new java.util.TreeSet<>(GROUP_KEYS)) + ")");
                }
            }
        }
        try {
            String strategyName = c.hasPath("strategy") ? c.getString("strategy") : defaults.balance().configName;
            Balance balance = Balance.of(strategyName);
            if (balance == null) {
                throw ctx.configError(prefix + "strategy", "unknown strategy \"" + strategyName + "\" (known: " + Balance.names() + ")");
            }
            int retries = c.hasPath("num_retries") ? c.getInt("num_retries") : defaults.numRetries();
            if (retries < 0 || retries > 10) {
                throw ctx.configError(prefix + "num_retries", "must be from 0 to 10");
            }
            int allowedFails = c.hasPath("allowed_fails") ? c.getInt("allowed_fails") : defaults.allowedFails();
            if (allowedFails < 1) {
                throw ctx.configError(prefix + "allowed_fails", "must be at least 1");
            }
            long cooldown = millis(c, "cooldown_time", defaults == null ? 0 : defaults.cooldownMillis());
            long window = millis(c, "failure_window", defaults == null ? 0 : defaults.failureWindowMillis());
            long backoff = millis(c, "retry_backoff", defaults == null ? 0 : defaults.retryBackoffMillis());
            if (backoff < 0) {
                throw ctx.configError(prefix + "retry_backoff", "must not be negative");
            }
            long maxRetryAfter = millis(c, "max_retry_after", defaults == null ? 0 : defaults.maxRetryAfterMillis());
            if (cooldown < 1 || window < 1 || maxRetryAfter < 1) {
                throw ctx.configError(prefix + "cooldown_time", "cooldown_time, failure_window and max_retry_after must be above 0");
            }
            List<String> fallbacks = defaults == null ? List.of() : c.hasPath("fallbacks") ? c.getStringList("fallbacks") : List.of();
            List<String> cw = defaults == null ? List.of()
                    : c.hasPath("context_window_fallbacks") ? c.getStringList("context_window_fallbacks") : List.of();
            return new GroupSettings(balance, retries, List.copyOf(fallbacks), List.copyOf(cw), allowedFails, cooldown, window,
                    backoff, maxRetryAfter);
        } catch (ConfigException.WrongType | ConfigException.BadValue e) {
            throw ctx.configError(prefix + (e.origin() == null ? "" : ""), e.getMessage());
        }
    }

    private static long millis(Config c, String key, long absent) {
        return c.hasPath(key) ? c.getDuration(key, TimeUnit.MILLISECONDS) : absent;
    }

    private static Map<String, Experiment> experiments(ExtensionContext ctx, Config c, Map<String, Group> groups) {
        Map<String, Experiment> out = new LinkedHashMap<>();
        List<? extends Config> list = c.getConfigList("experiments");
        for (int i = 0; i < list.size(); i++) {
            Config e = list.get(i);
            String at = "experiments[" + i + "]";
            if (!e.hasPath("model") || !e.hasPath("split")) {
                throw ctx.configError(at, "an experiment needs a model and a split");
            }
            String model = e.getString("model");
            String name = e.hasPath("name") ? e.getString("name") : model;
            Map<String, ConfigValue> split = e.getObject("split");
            String[] targets = new String[split.size()];
            int[] cumulative = new int[split.size()];
            double total = 0;
            int k = 0;
            for (var s : split.entrySet()) {
                group(ctx, groups, s.getKey(), at + ".split");
                double share;
                try {
                    share = ((Number) s.getValue().unwrapped()).doubleValue();
                } catch (ClassCastException notNumber) {
                    throw ctx.configError(at + ".split." + quoted(s.getKey()), "must be a percentage");
                }
                if (share < 0) {
                    throw ctx.configError(at + ".split." + quoted(s.getKey()), "must not be negative");
                }
                total += share;
                targets[k] = s.getKey();
                cumulative[k++] = (int) Math.round(total * 100);
            }
            if (Math.abs(total - 100) > 1e-6) {
                throw ctx.configError(at + ".split", "the shares add up to " + total + ", not 100");
            }
            String sticky = e.hasPath("sticky") ? e.getString("sticky") : "none";
            Experiment.Sticky mode = switch (sticky) {
                case "key" -> Experiment.Sticky.KEY;
                case "user" -> Experiment.Sticky.USER;
                case "none" -> Experiment.Sticky.NONE;
                default -> throw ctx.configError(at + ".sticky", "must be key, user or none");
            };
            if (out.containsKey(model)) {
                throw ctx.configError(at + ".model", "two experiments split \"" + model + "\"");
            }
            out.put(model, new Experiment(name, model, targets, cumulative, mode));
        }
        return out;
    }

    private static String quoted(String key) {
        return com.typesafe.config.ConfigUtil.quoteString(key);
    }

    @Override
    public void close() {
        if (ticker != null) {
            ticker.cancel(false);
        }
        if (shared != null) {
            shared.close();
        }
    }
}
