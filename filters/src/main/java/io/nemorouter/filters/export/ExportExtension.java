package io.nemorouter.filters.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.Phase;
import io.nemorouter.filters.accounting.RecordListener;
import io.nemorouter.filters.keys.BudgetAlert;
import io.nemorouter.filters.keys.BudgetAlerts;
import io.prometheus.client.Counter;
import io.prometheus.client.Gauge;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Exporters ({@code nemo.exporters}, a list of entries each naming its {@code type}): every
 * request-log record goes to each of them, redacted as the entry says, through a queue and thread
 * of its own ({@link ExportQueue}). The records come from the log's writer thread (this extension
 * publishes the {@link RecordListener} the log calls), so the request path does no export work.
 */
public final class ExportExtension implements Extension {
    private static final Logger LOG = LoggerFactory.getLogger(ExportExtension.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The keys every entry may have, whatever its type. */
    static final Set<String> COMMON_KEYS = Set.of("type", "name", "batch_size", "flush_interval", "queue_capacity",
            "max_queue_bytes", "max_retries", "retry_backoff", "max_retry_backoff", "timeout", "include_bodies", "mask_metadata");
    /** What an exporter never gets: the key's hash identifies a key as well as its secret does in a log search. */
    private static final List<String> NEVER = List.of("key_hash");
    private static final List<String> BODIES = List.of("prompt", "completion");

    private final Clock clock;
    private final List<Target> targets = new ArrayList<>();
    private final List<ExportQueue> alertQueues = new ArrayList<>();
    private Duration grace = Duration.ofSeconds(10);
    private java.util.concurrent.ExecutorService httpThreads;

    public ExportExtension() {
        this(Clock.systemUTC());
    }

    public ExportExtension(Clock clock) {
        this.clock = clock;
    }

    /** One configured exporter: its queue and how its records are redacted. */
    private record Target(ExportQueue queue, boolean bodies, Set<String> masked) {
    }

    /** Every queue, the exporters' and the alert targets': what starts and what closes. */
    private List<ExportQueue> queues() {
        List<ExportQueue> all = new ArrayList<>(targets.stream().map(Target::queue).toList());
        all.addAll(alertQueues);
        return all;
    }

    @Override
    public String name() {
        return "export";
    }

    @Override
    public int order() {
        return 250; // before the request log, which takes the listener this publishes; so it also closes after the log
    }

    @Override
    public void start(ExtensionContext ctx) throws Exception {
        Config root = ctx.gatewayConfig().root;
        List<? extends ConfigValue> entries = list(root, "nemo.exporters");
        List<? extends ConfigValue> alertTargets = list(root, "nemo.alerts");
        if (entries.isEmpty() && alertTargets.isEmpty()) {
            return;
        }
        grace = ctx.gatewayConfig().drainGrace;
        Map<String, ExporterFactory> factories = new HashMap<>();
        for (ExporterFactory f : ServiceLoader.load(ExporterFactory.class, ExportExtension.class.getClassLoader())) {
            factories.put(f.type(), f);
        }
        Config defaults = ctx.config().getConfig("defaults");
        httpThreads = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "nemo-export-http");
            t.setDaemon(true);
            return t;
        });
        ExportEnvironment env = new ExportEnvironment(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
                .executor(httpThreads).build(), clock, hostname());

        Counter records = Counter.build("nemo_export_records_total",
                "Request-log records by exporter and what became of them: delivered, dropped (queue full), refused (4xx), failed (out of retries)")
                .labelNames("exporter", "result").register(ctx.metrics());
        Counter retries = Counter.build("nemo_export_retries_total", "Batches sent again after a 429, 5xx or network error")
                .labelNames("exporter").register(ctx.metrics());
        Gauge queued = Gauge.build("nemo_export_queued", "Records waiting in an exporter's queue").labelNames("exporter").register(ctx.metrics());

        Set<String> names = new TreeSet<>();
        boolean traced = false;
        for (int i = 0; i < entries.size(); i++) {
            String path = "nemo.exporters." + i;
            ConfigValue v = entries.get(i);
            Config entry = entry(v, path);
            if (!entry.hasPath("type")) {
                throw ConfigError.at(v.origin(), path + ".type", "required: one of " + new TreeSet<>(factories.keySet()));
            }
            ExporterFactory factory = factories.get(entry.getString("type"));
            if (factory == null) {
                throw ConfigError.at(entry.getValue("type").origin(), path + ".type",
                        "unknown exporter type \"" + entry.getString("type") + "\"; known: " + new TreeSet<>(factories.keySet()));
            }
            checkKeys(entry, factory.type(), factory.keys(), factory.secretKeys(), path);
            Config full = entry.withFallback(factory.defaults()).withFallback(defaults);
            String name = full.hasPath("name") ? full.getString("name") : factory.type() + (i == 0 ? "" : "-" + i);
            if (!names.add(name)) {
                throw ConfigError.at(v.origin(), path + ".name", "two exporters are named \"" + name + "\"; give each its own name");
            }
            ExportQueue.Settings s;
            Exporter exporter;
            try {
                s = settings(name, full);
                exporter = factory.create(full, env);
            } catch (IllegalArgumentException e) {
                throw configError(v, path, e);
            }
            targets.add(new Target(queue(exporter, s, records, retries, queued), full.getBoolean("include_bodies"),
                    Set.copyOf(full.getStringList("mask_metadata"))));
            traced |= factory.traces();
        }
        if (traced) { // only then: without a trace exporter, the request path does no trace work and adds no header
            ctx.filter(Phase.BEFORE_ROUTING, Tracing.BEFORE_ROUTING_ORDER, Tracing::beforeRouting);
            ctx.filter(Phase.DEPLOYMENT_CHOSEN, Tracing.DEPLOYMENT_CHOSEN_ORDER, Tracing::deploymentChosen);
        }
        for (int i = 0; i < alertTargets.size(); i++) {
            String path = "nemo.alerts." + i;
            Config entry = entry(alertTargets.get(i), path);
            String type = entry.hasPath("type") ? entry.getString("type") : "";
            if (!type.equals("webhook") && !type.equals("slack")) {
                throw ConfigError.at(alertTargets.get(i).origin(), path + ".type", "an alert target is a webhook or slack");
            }
            checkKeys(entry, type, type.equals("webhook") ? Set.of("url", "hmac_secret") : Set.of("url"),
                    type.equals("webhook") ? Set.of("hmac_secret") : Set.of("url"), path); // a Slack webhook's URL is its secret
            Config full = entry.withFallback(ALERT_DEFAULTS).withFallback(defaults);
            String name = "alerts-" + (full.hasPath("name") ? full.getString("name") : type + (i == 0 ? "" : "-" + i));
            if (!names.add(name)) {
                throw ConfigError.at(alertTargets.get(i).origin(), path + ".name", "two alert targets are named \"" + name + "\"");
            }
            Exporter exporter;
            ExportQueue.Settings s;
            try {
                s = settings(name, full);
                exporter = type.equals("webhook") ? WebhookExporter.Factory.of(full, env, "alerts") : SlackAlerts.of(full, env);
            } catch (IllegalArgumentException e) {
                throw configError(alertTargets.get(i), path, e);
            }
            alertQueues.add(queue(exporter, s, records, retries, queued));
        }
        BudgetAlerts alerts = ctx.service(BudgetAlerts.class);
        if (!alertQueues.isEmpty()) {
            if (alerts == null) {
                throw ConfigError.at(alertTargets.get(0).origin(), "nemo.alerts", "budget alerts need the keys extension (nemo.keys.enabled = true)");
            }
            alerts.subscribe(a -> {
                ExportRecord r = alertRecord(a);
                alertQueues.forEach(q -> q.offer(r));
            });
        }
        queues().forEach(ExportQueue::start);
        ctx.publish(RecordListener.class, this::fanOut);
        LOG.info("exporters: {}", String.join(", ", queues().stream().map(ExportQueue::name).toList()));
    }

    /** Alert targets send soon: an alert is worth little an hour late. */
    private static final Config ALERT_DEFAULTS = com.typesafe.config.ConfigFactory.parseString("batch_size = 20, flush_interval = 1s");

    private static List<? extends ConfigValue> list(Config root, String path) {
        if (!root.hasPath(path)) {
            return List.of();
        }
        try {
            return root.getList(path);
        } catch (ConfigException.WrongType e) {
            throw ConfigError.at(root.getValue(path).origin(), path, "must be a list of entries, each with a type");
        }
    }

    private static Config entry(ConfigValue v, String path) {
        if (!(v instanceof com.typesafe.config.ConfigObject obj)) {
            throw ConfigError.at(v.origin(), path, "an entry is an object with a type, e.g. { type = webhook, url = \"...\" }");
        }
        return obj.toConfig();
    }

    private static ConfigError configError(ConfigValue v, String path, IllegalArgumentException e) {
        String m = e.getMessage();
        int colon = m.indexOf(':');
        return colon < 0 ? ConfigError.at(v.origin(), path, m) : ConfigError.at(v.origin(), path + "." + m.substring(0, colon), m.substring(colon + 1).trim());
    }

    private static ExportQueue queue(Exporter exporter, ExportQueue.Settings s, Counter records, Counter retries, Gauge queued) {
        String name = s.name();
        ExportQueue q = new ExportQueue(exporter, s, new ExportQueue.Meters(
                records.labels(name, "delivered"), records.labels(name, "dropped"), records.labels(name, "refused"),
                records.labels(name, "failed"), retries.labels(name)));
        queued.setChild(new Gauge.Child() {
            @Override
            public double get() {
                return q.queued();
            }
        }, name);
        return q;
    }

    /** A budget alert as the JSON its targets get. */
    static ExportRecord alertRecord(BudgetAlert a) {
        ObjectNode o = JSON.createObjectNode();
        o.put("type", "budget_alert");
        o.put("id", a.requestId() + "-" + a.level() + "-" + a.threshold()); // the alert's own id, for deduplication
        o.put("ts", a.timeMillis());
        o.put("time", java.time.Instant.ofEpochMilli(a.timeMillis()).toString());
        o.put("level", a.level());
        o.put(a.level().equals("key") ? "key_id" : a.level().equals("team") ? "team_id" : "organization_id", a.id());
        if (a.alias() != null) {
            o.put("alias", a.alias());
        }
        o.put("threshold", a.threshold());
        o.put("of", a.soft() ? "soft_budget" : "max_budget");
        o.put("base", a.base());
        o.put("spend", a.spend());
        if (a.budget() != null) {
            o.put("max_budget", a.budget());
        }
        o.put("period_end", a.periodEnd() == 0 ? null : java.time.Instant.ofEpochMilli(a.periodEnd()).toString());
        o.put("request_id", a.requestId());
        try {
            return new ExportRecord(o, JSON.writeValueAsBytes(o));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Unknown keys, and secrets written into the file rather than taken from the environment. */
    private static void checkKeys(Config entry, String type, Set<String> keys, Set<String> secretKeys, String path) {
        Set<String> allowed = new TreeSet<>(COMMON_KEYS);
        allowed.addAll(keys);
        for (String key : entry.root().keySet()) {
            if (!allowed.contains(key)) {
                throw ConfigError.at(entry.getValue(key).origin(), path + "." + key,
                        "unknown key for a " + type + " entry; known: " + allowed);
            }
        }
        for (String key : secretKeys) {
            if (entry.hasPath(key)) {
                ConfigValue value = entry.getValue(key);
                if (value instanceof com.typesafe.config.ConfigObject members) { // headers { x-api-key = ${?KEY} }: each member
                    for (Map.Entry<String, ConfigValue> m : members.entrySet()) {
                        checkFromEnvironment(m.getValue(), path + "." + key + "." + m.getKey(), key + " { " + m.getKey() + " = ${?YOUR_ENV_VAR} }");
                    }
                } else {
                    checkFromEnvironment(value, path + "." + key, key + " = ${?YOUR_ENV_VAR}");
                }
            }
        }
    }

    private static void checkFromEnvironment(ConfigValue value, String path, String example) {
        if (!value.origin().description().startsWith("env variable")) {
            throw ConfigError.at(value.origin(), path, "a secret comes from the environment, not the file: write " + example);
        }
    }

    static ExportQueue.Settings settings(String name, Config c) {
        int batch = c.getInt("batch_size");
        if (batch < 1 || batch > 10_000) {
            throw new IllegalArgumentException("batch_size: must be 1 to 10000");
        }
        int capacity = c.getInt("queue_capacity");
        if (capacity < batch) {
            throw new IllegalArgumentException("queue_capacity: must be at least batch_size (" + batch + ")");
        }
        Duration flush = c.getDuration("flush_interval");
        if (flush.toMillis() < 10) {
            throw new IllegalArgumentException("flush_interval: must be at least 10ms");
        }
        long maxBytes = c.getBytes("max_queue_bytes");
        if (maxBytes < 64 * 1024) {
            throw new IllegalArgumentException("max_queue_bytes: must be at least 64 KiB");
        }
        int retries = c.getInt("max_retries");
        if (retries < 0) {
            throw new IllegalArgumentException("max_retries: must be 0 or more");
        }
        Duration backoff = c.getDuration("retry_backoff");
        Duration maxBackoff = c.getDuration("max_retry_backoff");
        if (backoff.toMillis() < 1 || maxBackoff.compareTo(backoff) < 0) {
            throw new IllegalArgumentException("retry_backoff: must be at least 1ms and at most max_retry_backoff");
        }
        if (c.getDuration("timeout").toMillis() < 100) {
            throw new IllegalArgumentException("timeout: must be at least 100ms");
        }
        return new ExportQueue.Settings(name, batch, flush, capacity, maxBytes, retries, backoff, maxBackoff);
    }

    /** On the log's writer thread: the record, redacted for each exporter, into each queue. */
    private void fanOut(byte[] line) {
        if (targets.stream().noneMatch(t -> t.queue().hasRoom())) {
            targets.forEach(t -> t.queue().dropped()); // counted as drops, without parsing a record no queue would take
            return;
        }
        ObjectNode record;
        try {
            record = (ObjectNode) JSON.readTree(line);
        } catch (IOException | ClassCastException e) {
            return; // the log wrote it; it cannot be malformed
        }
        NEVER.forEach(record::remove);
        ExportRecord plain = null;
        for (Target t : targets) {
            ExportRecord r;
            if (!t.bodies() && t.masked().isEmpty()) {
                if (plain == null) {
                    plain = redacted(record, false, Set.of());
                }
                r = plain;
            } else {
                r = redacted(record, t.bodies(), t.masked());
            }
            if (r != null) {
                t.queue().offer(r);
            }
        }
    }

    private static ExportRecord redacted(ObjectNode record, boolean bodies, Set<String> masked) {
        ObjectNode copy = record.deepCopy();
        if (!bodies) {
            BODIES.forEach(copy::remove);
        }
        JsonNode metadata = copy.get("metadata");
        if (metadata instanceof ObjectNode m) {
            for (String name : masked) {
                if (m.has(name)) {
                    m.put(name, "***");
                }
            }
        }
        try {
            return new ExportRecord(copy, JSON.writeValueAsBytes(copy));
        } catch (IOException e) {
            return null;
        }
    }

    private static String hostname() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    /** After the log has closed (it closes first): sends what is queued, within the drain grace. */
    @Override
    public void close() throws InterruptedException {
        long deadline = System.nanoTime() + Math.min(grace.toNanos(), TimeUnit.SECONDS.toNanos(30));
        List<ExportQueue> all = queues();
        all.forEach(q -> q.beginClose(deadline)); // all send at once, each on its thread
        for (ExportQueue q : all) {
            q.awaitClosed(deadline);
        }
        if (httpThreads != null) {
            httpThreads.shutdownNow();
        }
    }
}
