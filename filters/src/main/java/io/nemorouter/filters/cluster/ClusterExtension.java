package io.nemorouter.filters.cluster;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.prometheus.client.Gauge;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

/**
 * {@code cluster}: with {@code nemo.cluster.redis} set, connects to Redis before every other
 * extension starts and publishes the {@link RedisLink}; the keys, cache and routing extensions then
 * keep their shared state there. Without it, nothing changes. {@code /health} reports the link.
 */
public final class ClusterExtension implements Extension {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterExtension.class);
    private RedisLink link;

    @Override
    public String name() {
        return "cluster";
    }

    @Override
    public int order() {
        return 50; // before keys (100): its store is the link's
    }

    @Override
    public void start(ExtensionContext ctx) {
        String uri = ctx.config().getString("redis").trim();
        if (uri.isEmpty()) {
            return;
        }
        String prefix = ctx.config().getString("prefix").trim();
        if (prefix.isEmpty() || prefix.contains("{") || prefix.contains("}")) {
            throw ctx.configError("prefix", "must be a non-empty name without braces");
        }
        Duration timeout = ctx.config().getDuration("timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw ctx.configError("timeout", "must be positive");
        }
        String policy = ctx.config().getString("on_redis_error");
        if (!policy.equals("fail_open") && !policy.equals("fail_closed")) {
            throw ctx.configError("on_redis_error", "must be fail_open or fail_closed, not " + policy);
        }
        String replica = replicaId(ctx);
        String ca = ctx.config().getString("tls_ca_file").trim();
        java.io.File caFile = ca.isEmpty() ? null : new java.io.File(ca);
        if (caFile != null && !caFile.canRead()) {
            throw ctx.configError("tls_ca_file", "cannot be read: " + ca);
        }
        try {
            link = RedisLink.connect(uri, prefix, timeout, ctx.config().getDuration("connect_timeout"), replica,
                    policy.equals("fail_open"), caFile);
        } catch (IllegalArgumentException e) {
            throw ctx.configError("redis", "is not a Redis URI Lettuce reads (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            throw new ConfigError("nemo.cluster.redis: Redis at " + RedisLink.redacted(uri) + " cannot be reached: " + e.getMessage());
        }
        ctx.publish(RedisLink.class, link);
        ctx.healthCheck("redis", link::health);
        Gauge.build("nemo_cluster_redis_up", "1 while Redis answers, 0 while it does not")
                .create().setChild(new Gauge.Child() {
                    @Override
                    public double get() {
                        return link.up() ? 1 : 0;
                    }
                }).register(ctx.metrics());
        link.metrics(ctx.metrics());
        LOG.info("cluster: replica {} sharing state through Redis at {} under the key prefix {}, {} on Redis errors",
                replica, RedisLink.redacted(uri), "{" + prefix + "}:", policy);
    }

    /** The configured id, or one made at first start and kept in the data directory (stable across restarts). */
    private static String replicaId(ExtensionContext ctx) {
        String configured = ctx.config().getString("replica_id").trim();
        if (!configured.isEmpty()) {
            if (!configured.matches("[A-Za-z0-9._-]{1,64}")) {
                throw ctx.configError("replica_id", "must be 1 to 64 letters, digits, '.', '_' or '-'");
            }
            return configured;
        }
        Path file = ctx.dataDir().resolve("cluster-replica-id");
        try {
            if (Files.exists(file)) {
                String id = Files.readString(file, StandardCharsets.UTF_8).trim();
                if (!id.isEmpty()) {
                    return id;
                }
            }
            String id = UUID.randomUUID().toString().substring(0, 13);
            Files.writeString(file, id + "\n", StandardCharsets.UTF_8);
            return id;
        } catch (IOException e) {
            throw new ConfigError("nemo.cluster: cannot keep the replica id in " + file + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        if (link != null) {
            link.close();
        }
    }
}
