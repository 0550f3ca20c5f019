package io.nemorouter.server;

import io.nemorouter.core.server.GatewayServer;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.ConfigLoader;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.GatewayConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code nemo-router [--config FILE] [--port N]}: loads the config, starts the gateway, and on
 * SIGTERM or SIGINT stops accepting, drains in-flight requests within the grace period and exits 0.
 */
public final class Main {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        Path configFile = null;
        Map<String, Object> overrides = new HashMap<>();
        String envConfig = System.getenv("NEMO_CONFIG");
        if (envConfig != null && !envConfig.isBlank()) {
            configFile = Path.of(envConfig);
        }
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config", "-c" -> configFile = Path.of(value(args, ++i, "--config"));
                case "--port", "-p" -> overrides.put("nemo.server.port", parsePort(value(args, ++i, "--port")));
                case "--help", "-h" -> {
                    System.out.println(usage());
                    return;
                }
                default -> die("unknown argument \"" + args[i] + "\"\n" + usage());
            }
        }
        if (configFile == null && Files.isReadable(Path.of("conf/nemo-router.conf"))) {
            configFile = Path.of("conf/nemo-router.conf");
        }

        GatewayServer server;
        GatewayConfig config;
        try {
            config = ConfigLoader.load(configFile, overrides);
            config.skipped.forEach(s -> LOG.info("model skipped: {}", s));
            config.unpriced.forEach(s -> LOG.warn("model unpriced: {}: no price in its catalog entry or the price table;"
                    + " its calls cost 0 and their records say unpriced", s));
            if (config.warmup.toMillis() > 0 && config.warmupRequests > 0) {
                Warmup.run(config, config.warmup, config.warmupRequests);
            }
            server = GatewayServer.builder(config).start();
        } catch (ConfigError e) {
            die("bad config: " + e.getMessage());
            return;
        } catch (Exception e) {
            if (portInUse(e)) {
                die("cannot listen: " + rootCause(e).getMessage() + " (is another process on that port? use --port)");
            }
            // the event loops are non-daemon threads: without an explicit exit a failed start would hang, alive and deaf
            LOG.error("start-up failed", e);
            System.exit(1);
            return;
        }
        for (Deployment d : server.runtime().catalog.all()) {
            LOG.info("model {} -> {} ({})", d.name(), d.id(), d.apiBase() == null ? "built-in" : d.apiBase());
        }
        if (server.runtime().catalog.isEmpty()) {
            LOG.warn("the model catalog is empty: add entries to nemo.models");
        }
        System.out.println("Nemo Router ready on http://" + displayHost(config.host) + ":" + server.port() + "/v1");

        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        stop.await();
        LOG.info("stopping: no new connections; draining in-flight requests for up to {}", config.drainGrace);
        boolean clean;
        try {
            clean = server.drainAndStop(config.drainGrace);
        } catch (RuntimeException | Error e) {
            LOG.error("drain failed", e);
            System.exit(1);
            return;
        }
        LOG.info(clean ? "stopped cleanly" : "stopped after the drain grace period");
        System.exit(0);
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            die(flag + " needs a value\n" + usage());
        }
        return args[i];
    }

    private static int parsePort(String s) {
        try {
            int p = Integer.parseInt(s);
            if (p >= 0 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        die("--port must be a number from 0 to 65535, got \"" + s + "\"");
        return -1;
    }

    /** NIO reports a taken port as BindException; native epoll as an IOException carrying EADDRINUSE's text. */
    private static boolean portInUse(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof java.net.BindException
                    || (c instanceof java.io.IOException && String.valueOf(c.getMessage()).contains("Address already in use"))) {
                return true;
            }
        }
        return false;
    }

    private static Throwable rootCause(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    private static String displayHost(String host) {
        return host.equals("0.0.0.0") ? "localhost" : host;
    }

    private static String usage() {
        return "usage: nemo-router [--config FILE] [--port N]\n"
                + "       nemo-router keys|teams|orgs COMMAND [options]   (keys, teams and organizations of a running gateway; keys -h)\n"
                + "  env: NEMO_CONFIG (config file), NEMO_PORT (default 4000), NEMO_DATA_DIR (default ./data)";
    }

    private static void die(String message) {
        System.err.println("nemo-router: " + message);
        System.exit(2);
    }
}
