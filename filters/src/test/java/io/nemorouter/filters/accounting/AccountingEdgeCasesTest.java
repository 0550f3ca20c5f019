package io.nemorouter.filters.accounting;

import io.prometheus.client.Collector;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What clients and clocks can do to the request log and the sums: long or forged values, late records, made-up models. */
class AccountingEdgeCasesTest {
    private static final long T0 = Instant.parse("2026-11-01T10:00:00Z").toEpochMilli();
    private final Path dir;

    AccountingEdgeCasesTest() throws Exception {
        dir = Files.createTempDirectory("nemo-review");
    }

    @AfterEach
    void clean() throws Exception {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode json(String s) throws Exception {
        return RecordJson.MAPPER.readTree(s);
    }

    /**
     * max_groups_per_hour bounds every grouping, the narrowed ones too: a unique job_id (or requested
     * model) per call does not add cells without end.
     */
    @Test
    void uniqueJobIdsAndModelsDoNotGrowTheRollupsWithoutBound() throws Exception {
        Rollups r = new Rollups(10);
        for (int i = 0; i < 2000; i++) {
            String md = "{\"job_id\":\"job-" + i + "\"}";
            r.add(Records.record("r" + i, T0, "k", "model-" + i, 404, 0, 0, 0, 1, md, List.of()), json(md));
        }
        assertTrue(r.cells() < 500, "cells in one hour with max_groups_per_hour = 10: " + r.cells());
    }

    /**
     * A metadata member's name is the client's: one named like a narrowed grouping ("stage|job_id=J")
     * must not add rows (and cost) to another job's per-stage report.
     */
    @Test
    void aMetadataMemberCannotForgeRowsOfAnotherJobsReport() throws Exception {
        Rollups r = new Rollups(100);
        String real = "{\"job_id\":\"invoices\",\"stage\":\"extract\"}";
        r.add(Records.record("a", T0, "k1", "m", 200, 10, 10, 1.0, 1, real, List.of()), json(real));
        String forged = "{\"stage|job_id=invoices\":\"forged\"}";
        r.add(Records.record("b", T0, "k2", "m", 200, 10, 10, 5.0, 1, forged, List.of()), json(forged));
        List<Rollups.Row> rows = r.report("metadata.stage", "job_id", "invoices", 0, Long.MAX_VALUE / 2, 0);
        assertEquals(List.of("extract"), rows.stream().map(Rollups.Row::group).toList(),
                "rows of job invoices per stage");
    }

    /**
     * A long job_id (or metadata member name) is cut, not carried into the snapshot's strings (which
     * DataOutput.writeUTF limits to 65,535 bytes).
     */
    @Test
    void aLongJobIdDoesNotBreakTheSnapshot() throws Exception {
        Rollups r = new Rollups(100);
        String md = "{\"job_id\":\"" + "j".repeat(70_000) + "\"}";
        r.add(Records.record("a", T0, "k", "m", 200, 1, 1, 0.1, 1, md, List.of()), json(md));
        Path f = dir.resolve("spend-rollups.bin");
        assertDoesNotThrow(() -> r.save(f, new Rollups.Position("requests-2026-11-01-000.jsonl", 10)));
    }

    /**
     * ... and a log holding such a line is replayed at the next start.
     */
    @Test
    void aLogHoldingALongJobIdCanStillBeRestored() throws Exception {
        LogWriter w = new LogWriter(dir, 1 << 20, 3650, 24L * 3650, 64, new Rollups(100), dir.resolve("spend-rollups.bin"),
                1_000_000_000L, counter(), counter(), Clock.systemUTC());
        w.start();
        String md = "{\"job_id\":\"" + "j".repeat(70_000) + "\"}";
        w.offer(Records.record("a", T0, "k", "m", 200, 1, 1, 0.1, 1, md, List.of()));
        w.close(5_000);
        assertDoesNotThrow(() -> restore(new Rollups(100)));
    }

    /**
     * A record a little late across midnight (two event loops finishing at 23:59:59.999 and 00:00:00.000
     * offer in the other order, or the wall clock steps back) joins the newer day's file: files never go
     * back in time, so a replay from the snapshot's position counts nothing twice.
     */
    @Test
    void aRecordLateAcrossMidnightIsNotCountedTwiceAfterARestart() throws Exception {
        long midnight = Instant.parse("2026-11-02T00:00:00Z").toEpochMilli();
        Rollups live = new Rollups(100);
        LogWriter w = new LogWriter(dir, 1 << 20, 3650, 24L * 3650, 64, live, dir.resolve("spend-rollups.bin"),
                1_000_000_000L, counter(), counter(), Clock.systemUTC());
        w.offer(Records.record("after", midnight + 1, "k", "m", 200, 1, 1, 0.1, 1, null, List.of()));
        w.offer(Records.record("before", midnight - 1, "k", "m", 200, 1, 1, 0.1, 1, null, List.of()));
        w.start();
        w.close(5_000); // a clean stop: the snapshot is saved
        assertEquals(2, live.report(Rollups.ALL, 0, Long.MAX_VALUE / 2, 0).get(0).sums().requests);
        Rollups restarted = new Rollups(100);
        restore(restarted);
        assertEquals(2, restarted.report(Rollups.ALL, 0, Long.MAX_VALUE / 2, 0).get(0).sums().requests,
                "calls after a restart (files " + LogFiles.list(dir) + ")");
    }

    /**
     * The per-key metrics' model label is a catalog name: what a client types for an unknown model
     * is not a series of its own.
     */
    @Test
    void theModelLabelOfTheKeyMetricsIsBounded() {
        CollectorRegistry registry = new CollectorRegistry();
        SpendMetrics m = new SpendMetrics(registry, 10);
        for (int i = 0; i < 1000; i++) {
            m.record(Records.unrouted("r" + i, T0, "k", "no-such-model-" + i));
        }
        int series = 0;
        for (Collector.MetricFamilySamples f : Collections.list(registry.metricFamilySamples())) {
            if (f.name.equals("nemo_key_requests")) {
                series += f.samples.size();
            }
        }
        assertTrue(series < 100, "nemo_key_requests_total series: " + series);
    }

    /**
     * Records are stamped on each event loop before the one queue, so a file is in time order but for
     * records a few milliseconds late: /spend/logs?from= still finds one behind an older line.
     */
    @Test
    void spendLogsFromDoesNotSkipARecordWrittenBeforeAnOlderOne() throws Exception {
        Rollups live = new Rollups(100);
        LogWriter w = new LogWriter(dir, 1 << 20, 3650, 24L * 3650, 64, live, dir.resolve("spend-rollups.bin"),
                1_000_000_000L, counter(), counter(), Clock.systemUTC());
        w.offer(Records.record("in-range", T0 + 1, "k", "m", 200, 1, 1, 0.1, 1, null, List.of()));
        w.offer(Records.record("older", T0, "k", "m", 200, 1, 1, 0.1, 1, null, List.of()));
        w.start();
        w.close(5_000);
        SpendApi api = new SpendApi(dir, live, 100, null, Clock.systemUTC());
        io.nemorouter.core.exchange.Exchange master = (io.nemorouter.core.exchange.Exchange) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[]{io.nemorouter.core.exchange.Exchange.class}, (proxy, method, args) -> null);
        var body = api.logsBody(master, java.util.Map.of("from", List.of(Long.toString(T0 + 1))));
        assertEquals(1, body.get("data").size(), "records at or after from: " + body);
    }

    private static int n;

    private static Counter counter() {
        return Counter.build("c" + (n++), "c").create();
    }

    private Rollups.Position restore(Rollups into) throws Exception {
        return LogExtension.restore(into, dir.resolve("spend-rollups.bin"), dir);
    }
}
