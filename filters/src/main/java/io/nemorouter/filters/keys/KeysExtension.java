package io.nemorouter.filters.keys;

import io.nemorouter.core.exchange.Key;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.Phase;
import io.nemorouter.filters.keys.admin.AdminApi;
import io.nemorouter.filters.keys.state.KeysClock;
import io.nemorouter.filters.keys.state.Entity;
import io.nemorouter.filters.keys.state.Registry;
import io.nemorouter.filters.keys.store.ChronicleKeyStore;
import io.nemorouter.filters.keys.store.KeyStore;
import io.nemorouter.filters.keys.store.RedisKeyStore;
import io.nemorouter.filters.keys.cluster.RedisLedgers;
import io.nemorouter.filters.cluster.RedisLink;
import io.nemorouter.filters.keys.store.Secrets;
import io.nemorouter.filters.store.StoreException;
import io.prometheus.client.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;


/**
 * {@code keys}: virtual keys, teams and organizations with budgets and rate limits. Opens the
 * store, serves the admin API, and enforces in three filters: auth and limits before routing,
 * the budget once the deployment (and its price) is chosen. Without a master key it runs open.
 */
public final class KeysExtension implements Extension {
    private static final Logger LOG = LoggerFactory.getLogger(KeysExtension.class);
    /** Filter orders: auth first of all, limits after it; the budget first once a deployment is chosen. */
    public static final int AUTH_ORDER = 100;
    public static final int LIMITS_ORDER = 200;
    public static final int BUDGET_ORDER = 100;
    static final Key<Admission> ADMISSION = Key.of("keys.admission");

    private final KeysClock clock;
    private KeyStore store;
    private RedisLedgers ledgers;
    private SharedLimitsFilter shared;

    public KeysExtension() {
        this(KeysClock.SYSTEM);
    }

    /** With another clock (tests: budget periods and rate windows without waiting). */
    public KeysExtension(KeysClock clock) {
        this.clock = clock;
    }

    @Override
    public String name() {
        return "keys";
    }

    @Override
    public int order() {
        return 100; // its store opens before the extensions that read principals
    }

    @Override
    public void start(ExtensionContext ctx) {
        String master = ctx.config().getString("master_key").trim();
        if (!master.isEmpty() && master.length() < 16) {
            throw ctx.configError("master_key", "must be at least 16 characters (it guards every key and budget)");
        }
        int entries = ctx.config().getInt("store_entries");
        if (entries < 100) {
            throw ctx.configError("store_entries", "must be at least 100");
        }
        long defaultMaxOutput = ctx.config().getLong("default_max_output_tokens");
        if (defaultMaxOutput < 1) {
            throw ctx.configError("default_max_output_tokens", "must be a positive number of tokens");
        }
        RedisLink link = ctx.service(RedisLink.class); // cluster mode: records and ledgers shared in Redis
        try {
            store = link != null ? new RedisKeyStore(link) : ChronicleKeyStore.open(ctx.dataDir(), entries);
        } catch (StoreException e) {
            throw new ConfigError("nemo.keys: the key store cannot be opened: " + e.getMessage());
        }
        Registry registry = new Registry(store, clock);
        byte[] masterDigest = master.isEmpty() ? null : Secrets.digest(master);
        Counter authFailures = Counter.build("nemo_auth_failures_total", "Requests refused by auth, by reason")
                .labelNames("reason").register(ctx.metrics());
        Counter refusals = Counter.build("nemo_limit_refusals_total", "Requests refused by a limit or budget, by level and limit")
                .labelNames("level", "limit").register(ctx.metrics());
        ctx.filter(Phase.BEFORE_ROUTING, AUTH_ORDER, new AuthFilter(registry, masterDigest, authFailures));
        BudgetAlerts alerts = new BudgetAlerts(ctx.metrics());
        ctx.publish(BudgetAlerts.class, alerts);
        if (link == null) {
            ctx.filter(Phase.BEFORE_ROUTING, LIMITS_ORDER, new LimitsFilter(registry, refusals, alerts));
            ctx.filter(Phase.DEPLOYMENT_CHOSEN, BUDGET_ORDER, new BudgetFilter(registry, defaultMaxOutput, refusals));
        } else { // limits and budget shared in Redis: from this replica's leases, or in one round trip
            try {
                ledgers = RedisLedgers.start(link, ctx.dataDir());
            } catch (StoreException e) {
                throw new ConfigError("nemo.keys: " + e.getMessage());
            }
            Counter admissions = Counter.build("nemo_cluster_admissions_total",
                    "Keyed requests admitted in cluster mode, by where: this replica's leases, or a round trip to Redis")
                    .labelNames("by").register(ctx.metrics());
            shared = new SharedLimitsFilter(registry, ledgers, refusals, admissions, alerts, defaultMaxOutput, ctx.catalog());
            // alerts crossed by settlements Redis took only when it came back (they were journaled meanwhile)
            ledgers.onReplayed((level, state) -> {
                Entity<?> e = registry.byLedger(level.ledger());
                if (e != null) {
                    alerts.publishCrossed(e, e.budget.alerts(), state, 0, null, registry.clock().millis());
                }
            });
            ctx.filter(Phase.BEFORE_ROUTING, LIMITS_ORDER, shared.admission);
            ctx.filter(Phase.DEPLOYMENT_CHOSEN, BUDGET_ORDER, shared.topUp);
        }
        AdminApi.register(ctx, registry, masterDigest, authFailures);
        ctx.publish(Readers.class, new ReaderAuth(registry, masterDigest, authFailures));
        new BudgetGauges(registry).register(ctx.metrics());
        if (masterDigest == null) {
            ctx.restrictToLoopback("No master key (NEMO_MASTER_KEY): the gateway is OPEN, anyone who reaches its port "
                    + "may call every model and spend without limit, and the admin API is off. Set NEMO_MASTER_KEY to require keys.");
        }
        LOG.info("keys: {} keys, {} teams, {} organizations in {}", registry.keys().size(), registry.teams().size(),
                registry.orgs().size(), link != null ? "Redis (cluster mode)" : ctx.dataDir());
    }

    @Override
    public void close() {
        if (shared != null) {
            shared.close();
        }
        if (ledgers != null) {
            ledgers.close();
        }
        if (store != null) {
            store.close();
        }
    }
}
