package io.nemorouter.filters.accounting;

import com.typesafe.config.Config;
import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.Phase;
import io.nemorouter.core.extension.RouteAuth;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.filters.cluster.RedisLink;
import io.nemorouter.filters.keys.Readers;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.prometheus.client.Counter;
import io.prometheus.client.Gauge;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The request log and spend analytics ({@code nemo.log}): every call on the OpenAI endpoints
 * becomes one JSON line under {@code <data_dir>/logs} and a contribution to the spend rollups,
 * which {@code GET /spend/report} reads; {@code GET /spend/logs} reads the lines. The event loop's
 * share is building the record and one queue offer. In cluster mode the sums are shared through
 * Redis ({@link ClusterSpend}), so a report covers every replica; the log files stay each replica's own.
 */
public final class LogExtension implements Extension {
    private static final Logger LOG = LoggerFactory.getLogger(LogExtension.class);
    /** Before auth: a request refused by it is still logged with its metadata. */
    static final int CAPTURE_ORDER = 50;

    private final Clock clock;
    private LogWriter writer;
    private ClusterSpend shared;
    private ExecutorService api;

    public LogExtension() {
        this(Clock.systemUTC());
    }

    public LogExtension(Clock clock) {
        this.clock = clock;
    }

    @Override
    public String name() {
        return "log";
    }

    @Override
    public int order() {
        return 300; // after keys, whose principals the records name and whose readers guard the API
    }

    @Override
    public void start(ExtensionContext ctx) throws IOException {
        Config c = ctx.config();
        Path dir = c.getString("dir").isEmpty() ? ctx.dataDir().resolve("logs") : Path.of(c.getString("dir"));
        long maxFile = c.getBytes("max_file_size");
        if (maxFile < 4096) {
            throw ctx.configError("max_file_size", "must be at least 4 KiB");
        }
        long retentionDays = c.getDuration("retention", TimeUnit.DAYS);
        if (retentionDays < 1) {
            throw ctx.configError("retention", "must be at least 1d");
        }
        int capacity = c.getInt("queue_capacity");
        if (capacity < 16) {
            throw ctx.configError("queue_capacity", "must be at least 16");
        }
        boolean bodies = c.getBoolean("bodies");
        int bodyCap = (int) Math.min(Integer.MAX_VALUE, c.getBytes("max_body_size"));
        int maxGroups = c.getInt("max_groups_per_hour");
        if (maxGroups < 10) {
            throw ctx.configError("max_groups_per_hour", "must be at least 10");
        }
        long snapshotEvery = c.getDuration("snapshot_interval", TimeUnit.NANOSECONDS);
        Files.createDirectories(dir);

        Rollups rollups = new Rollups(maxGroups);
        Path snapshot = dir.resolve("spend-rollups.bin");
        Rollups.Position covered = restore(rollups, snapshot, dir);
        long reportRetentionHours = 24 * c.getDuration("report_retention", TimeUnit.DAYS);
        if (reportRetentionHours < 24) {
            throw ctx.configError("report_retention", "must be at least 1d");
        }
        rollups.dropBefore(Math.floorDiv(clock.millis(), 3_600_000L) - reportRetentionHours);

        Counter dropped = Counter.build("nemo_log_dropped_total",
                "Request-log records dropped because the writer's queue was full").register(ctx.metrics());
        Counter failed = Counter.build("nemo_log_write_failures_total",
                "Request-log records that could not be written to disk").register(ctx.metrics());
        writer = new LogWriter(dir, maxFile, (int) retentionDays, reportRetentionHours, capacity, rollups, snapshot, snapshotEvery, dropped, failed, clock);
        Gauge.build("nemo_log_queued", "Request-log records waiting for the writer").register(ctx.metrics())
                .setChild(new Gauge.Child() {
                    @Override
                    public double get() {
                        return writer.queued();
                    }
                });
        int maxKeys = c.getInt("metrics_max_keys");
        if (maxKeys < 1) {
            throw ctx.configError("metrics_max_keys", "must be at least 1");
        }
        writer.metrics(new SpendMetrics(ctx.metrics(), maxKeys));
        writer.listener(ctx.service(RecordListener.class)); // the exporters', when any are configured
        if (covered != null) {
            LOG.info("request log: spend rollups restored up to {}:{} ({} cells)", covered.file(), covered.offset(), rollups.cells());
        }
        writer.start();
        RedisLink link = ctx.service(RedisLink.class);
        if (link != null) {
            // cluster mode: the sums go to Redis too, and a report adds the other replicas'
            shared = new ClusterSpend(link, rollups, reportRetentionHours, clock);
            shared.start();
            Gauge.build("nemo_log_unshared_cells", "Spend sums changed since they were last written to Redis (cluster mode)")
                    .register(ctx.metrics()).setChild(new Gauge.Child() {
                        @Override
                        public double get() {
                            return rollups.unsharedCells();
                        }
                    });
        }

        ctx.filter(Phase.BEFORE_ROUTING, CAPTURE_ORDER, ex -> capture(ex, bodies, bodyCap));
        ctx.observer(completion -> record(completion));

        api = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "nemo-spend-api");
            t.setDaemon(true);
            return t;
        });
        SpendApi spend = new SpendApi(dir, rollups, maxGroups, api, clock, shared);
        Readers readers = ctx.service(Readers.class);
        RouteAuth auth = readers != null ? readers::admit : ex -> new OpenAiError(HttpResponseStatus.FORBIDDEN,
                "permission_error", "admin_api_disabled", null,
                "Spend analytics need the keys extension (nemo.keys.enabled = true) and a master key.");
        ctx.route(HttpMethod.GET, "/spend/logs", auth, spend::logs);
        ctx.route(HttpMethod.GET, "/spend/report", auth, spend::report);
        LOG.info("request log: {} (bodies {}, retention {} days)", dir, bodies ? "logged" : "not logged", retentionDays);
    }

    /** Keeps what the record needs of the body; nothing at all for a request without metadata or tags. */
    private static Verdict capture(Exchange ex, boolean bodies, int cap) {
        if (!ex.endpoint().proxied) {
            return Verdict.CONTINUE;
        }
        String metadata = ex.body().metadataJson();
        List<String> tags = ex.body().tags();
        if (metadata == null && tags.isEmpty() && !bodies) {
            return Verdict.CONTINUE;
        }
        Captured captured = new Captured(metadata, tags, bodies ? Captured.capped(ex.content(), cap) : null, cap);
        ex.set(Captured.KEY, captured);
        if (bodies) {
            ex.listen(captured);
        }
        return Verdict.CONTINUE;
    }

    private void record(Completion c) {
        if (c.endpoint() == null || !c.endpoint().proxied) {
            return;
        }
        writer.offer(CallRecord.of(c, c.get(Captured.KEY), clock.millis()));
    }

    /**
     * Loads the rollups snapshot and replays the log after the position it covers (all of it when
     * there is no snapshot, or one that cannot be read).
     */
    static Rollups.Position restore(Rollups rollups, Path snapshot, Path dir) throws IOException {
        Rollups.Position from;
        try {
            from = rollups.load(snapshot);
        } catch (IOException | RuntimeException e) {
            LOG.warn("request log: {} cannot be read ({}); rebuilding the spend rollups from the log", snapshot, e.getMessage());
            rollups.dropBefore(Long.MAX_VALUE); // whatever was half-read
            from = null;
        }
        long[] replayed = {0};
        Rollups.Position end = LogReader.forward(dir, from, (file, start, stop, json) -> {
            CallRecord r = RecordJson.read(json);
            if (r != null) {
                rollups.add(r, json.get("metadata"));
                replayed[0]++;
            }
            return true;
        });
        if (replayed[0] > 0) {
            LOG.info("request log: replayed {} records into the spend rollups", replayed[0]);
            try {
                rollups.save(snapshot, end);
            } catch (IOException | RuntimeException e) {
                // the sums are in memory; the writer saves them again, and a later start replays from the older snapshot
                LOG.warn("request log: cannot save the spend rollups to {}: {}", snapshot, e.toString());
            }
        }
        return end;
    }

    @Override
    public void close() throws InterruptedException {
        if (writer != null) {
            writer.close(5_000);
        }
        if (shared != null) {
            shared.close(); // what the writer added last
        }
        if (api != null) {
            api.shutdownNow();
        }
    }
}
