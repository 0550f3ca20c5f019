package io.nemorouter.filters.accounting;

import com.fasterxml.jackson.databind.JsonNode;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LogWriterTest {
    private final Path dir;
    private final CollectorRegistry metrics = new CollectorRegistry();
    private final Counter dropped = Counter.build("dropped", "d").register(metrics);
    private final Counter failed = Counter.build("failed", "f").register(metrics);

    LogWriterTest() throws Exception {
        dir = Files.createTempDirectory("nemo-log-test");
    }

    @AfterEach
    void clean() throws Exception {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private LogWriter writer(int capacity, long maxFile, int retentionDays, Rollups rollups) {
        return new LogWriter(dir, maxFile, retentionDays, 24L * 3650, capacity, rollups, dir.resolve("spend-rollups.bin"),
                1_000_000_000L, dropped, failed, Clock.systemUTC());
    }

    private static final long DAY = 86_400_000L;
    private static final long T0 = Instant.parse("2026-12-01T10:00:00Z").toEpochMilli();

    @Test
    void aFullQueueDropsTheRecordAndCountsItWithoutBlocking() throws Exception {
        LogWriter w = writer(16, 1 << 20, 30, new Rollups(100));
        int accepted = 0;
        long started = System.nanoTime();
        for (int i = 0; i < 40; i++) {
            if (w.offer(Records.record("r" + i, T0, "k", "m", 200, 1, 1, 0.1, 5, null, List.of()))) {
                accepted++;
            }
        }
        assertTrue(System.nanoTime() - started < 1_000_000_000L, "offers never wait");
        assertEquals(16, accepted, "the queue's capacity (the writer is not running)");
        assertEquals(24.0, dropped.get());
        w.start(); // what was queued is still written
        w.close(5_000);
        assertEquals(16, lines().size());
    }

    private List<JsonNode> lines() throws Exception {
        List<JsonNode> out = new ArrayList<>();
        LogReader.forward(dir, null, (f, s, e, json) -> out.add(json));
        return out;
    }

    @Test
    void filesRollOverByDayAndSizeAndNameOrderIsTimeOrder() throws Exception {
        Rollups rollups = new Rollups(100);
        LogWriter w = writer(1024, 4096, 3650, rollups);
        w.start();
        for (int i = 0; i < 60; i++) {
            long t = T0 + (i / 20) * DAY + i; // three days, 20 records each
            assertTrue(w.offer(Records.record("r" + i, t, "k", "m", 200, 10, 5, 0.001, 5, "{\"job_id\":\"j\"}", List.of("a"))));
        }
        w.close(5_000);
        List<Path> files = LogFiles.list(dir);
        assertTrue(files.size() > 3, "4 KiB files: more than one a day " + files);
        for (Path f : files) {
            assertTrue(Files.size(f) < 4096 + 1024, f + " is cut near the size");
        }
        List<JsonNode> all = lines();
        assertEquals(60, all.size());
        for (int i = 0; i < 60; i++) {
            assertEquals("r" + i, all.get(i).get("id").asText(), "in order");
            assertEquals(LogFiles.day(all.get(i).get("ts").asLong()), LogFiles.dayOf(fileOf(files, i)));
        }
        // and backwards, newest first, across files
        List<String> back = new ArrayList<>();
        LogReader.backward(dir, files, null, (f, s, e, json) -> back.add(json.get("id").asText()));
        assertEquals(60, back.size());
        assertEquals("r59", back.get(0));
        assertEquals("r0", back.get(59));
        assertEquals(60, rollups.report(Rollups.ALL, 0, Long.MAX_VALUE / 2, 0).get(0).sums().requests);
        assertTrue(Files.exists(dir.resolve("spend-rollups.bin")), "saved on close");
    }

    private String fileOf(List<Path> files, int recordIndex) throws Exception {
        int seen = 0;
        for (Path f : files) {
            int n = Files.readAllLines(f).size();
            if (recordIndex < seen + n) {
                return f.getFileName().toString();
            }
            seen += n;
        }
        throw new AssertionError("record " + recordIndex + " in no file");
    }

    @Test
    void filesPastTheRetentionAreDeletedWhenADayBegins() throws Exception {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        Files.writeString(dir.resolve(LogFiles.name(today.minusDays(10), 0)), "{}\n");
        Files.writeString(dir.resolve(LogFiles.name(today.minusDays(2), 0)), "{}\n");
        Files.writeString(dir.resolve("notes.txt"), "not a log file");
        LogWriter w = writer(64, 1 << 20, 7, new Rollups(100));
        w.start();
        w.offer(Records.record("now", System.currentTimeMillis(), "k", "m", 200, 1, 1, 0, 1, null, List.of()));
        w.close(5_000);
        assertFalse(Files.exists(dir.resolve(LogFiles.name(today.minusDays(10), 0))), "older than 7 days");
        assertTrue(Files.exists(dir.resolve(LogFiles.name(today.minusDays(2), 0))));
        assertTrue(Files.exists(dir.resolve("notes.txt")), "only log files are touched");
    }

    @Test
    void aLineCutShortByACrashIsSkippedAndAWriterAfterItStartsANewFile() throws Exception {
        LogWriter w = writer(64, 1 << 20, 3650, new Rollups(100));
        w.start();
        w.offer(Records.record("a", T0, "k", "m", 200, 1, 1, 0, 1, null, List.of()));
        w.close(5_000);
        Path first = LogFiles.list(dir).get(0);
        Files.writeString(first, "{\"id\":\"half", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        LogWriter again = writer(64, 1 << 20, 3650, new Rollups(100));
        again.start();
        again.offer(Records.record("b", T0 + 1, "k", "m", 200, 1, 1, 0, 1, null, List.of()));
        again.close(5_000);
        assertEquals(2, LogFiles.list(dir).size(), "a file of its own per start");
        List<JsonNode> all = lines();
        assertEquals(List.of("a", "b"), all.stream().map(j -> j.get("id").asText()).toList());
        List<String> back = new ArrayList<>();
        LogReader.backward(dir, LogFiles.list(dir), null, (f, s, e, json) -> back.add(json.get("id").asText()));
        assertEquals(List.of("b", "a"), back);
    }
}
