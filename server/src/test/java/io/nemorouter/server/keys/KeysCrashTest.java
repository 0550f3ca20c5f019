package io.nemorouter.server.keys;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import io.nemorouter.server.KillableGateway;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kill -9} of a loaded gateway process, and a restart on the same data directory: every key,
 * team and organization is there, and so is every cent of settled spend.
 */
class KeysCrashTest {
    static final String MASTER = "sk-master-crash-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    KillableGateway gateway;

    @AfterEach
    void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void killNineUnderLoadLosesNoKeyAndNoSettledSpend() throws Exception {
        gateway = new KillableGateway("nemo-crash", data -> """
                nemo {
                  server { host = "127.0.0.1", warmup = 0s }
                  data_dir = "%s"
                  keys.master_key = "%s"
                  models = [ { name = "m", provider = mock, input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 } ]
                }
                """.formatted(data, MASTER));
        gateway.start("gw-1.log");
        String base = gateway.base();
        post(base, "/organization/new", "{\"organization_id\":\"acme\",\"max_budget\":100000}");
        post(base, "/team/new", "{\"team_id\":\"ml\",\"organization_id\":\"acme\",\"max_budget\":100000}");
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            keys.add(post(base, "/key/generate", "{\"key_alias\":\"k" + i + "\",\"team_id\":\"ml\",\"max_budget\":1000}").get("key").asText());
        }

        // under load, then quiet: what the API reports is what must survive
        load(base, keys, 1500, null);
        Map<String, Double> before = spend(base, keys);
        double teamBefore = get(base, "/team/info?team_id=ml").get("spend").asDouble();
        assertTrue(teamBefore > 0, "the load spent something");
        gateway.kill();
        gateway.start("gw-2.log");
        assertEquals(before, spend(base, keys), "every key's spend after kill -9 and restart");
        // the request log and the spend report: every answered call of the quiet kill's load, once
        double[] logged = logged();
        JsonNode totals = get(base, "/spend/report").get("totals");
        assertEquals(logged[0], totals.get("requests").asDouble(), "the report counts each logged call once");
        assertEquals(logged[1], totals.get("cost").asDouble(), 1e-6);
        assertEquals(before.values().stream().mapToDouble(Double::doubleValue).sum(), logged[1], 1e-6,
                "the log holds every settled call");
        assertEquals(teamBefore, get(base, "/team/info?team_id=ml").get("spend").asDouble(), 1e-9);
        assertEquals(12, get(base, "/key/list").get("total_count").asInt());

        // killed in the middle of the load: nothing is lost beyond the requests in flight
        DoubleAdder received = new DoubleAdder();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread loader = new Thread(() -> {
            try {
                load(base, keys, 3000, received);
            } catch (Exception ignored) {
                // the gateway dies under it
            } finally {
                running.set(false);
            }
        });
        long loadStarted = System.nanoTime();
        loader.start();
        Thread.sleep(1200);
        gateway.kill();
        double receivedAtKill = received.sum();
        double spentPerSecond = receivedAtKill / ((System.nanoTime() - loadStarted) / 1e9);
        loader.join();
        gateway.start("gw-3.log");
        double after = 0;
        for (double v : spend(base, keys).values()) {
            after += v;
        }
        double sumBefore = before.values().stream().mapToDouble(Double::doubleValue).sum();
        double perRequest = 0.02; // at most (the mock's usage at these prices): 4 loaders in flight at the kill
        assertTrue(receivedAtKill > 0, "the second load got answers before the kill");
        assertTrue(after >= sumBefore + receivedAtKill - 4 * perRequest - 1e-9,
                "settled spend survived: " + after + " vs " + sumBefore + " + " + receivedAtKill + "; each key's spend: "
                        + spend(base, keys).values() + "; what the restarted gateway said of its stores: " + storeLines("gw-3.log"));
        assertTrue(after <= sumBefore + received.sum() + 4 * perRequest + 1e-9, "and nothing was made up: " + after);
        assertEquals(12, get(base, "/key/list").get("total_count").asInt());
        assertEquals("acme", get(base, "/team/info?team_id=ml").get("organization_id").asText());
        // killed mid-load: the report is rebuilt from the snapshot and the log after it, each call once
        logged = logged();
        totals = get(base, "/spend/report").get("totals");
        assertEquals(logged[0], totals.get("requests").asDouble(), "no call counted twice or lost between snapshot and log");
        assertEquals(logged[1], totals.get("cost").asDouble(), 1e-6);
        assertTrue(logged[1] <= after + 1e-6, "the log has no call the ledgers did not settle");
        // the log's writer takes records every 20 ms and lags on a loaded machine (CI once found $0.88 of calls missing):
        // what a kill -9 may cost the log (never the ledgers) is the last calls, bounded here by half a second's spend
        double unwritten = Math.max(0.5, spentPerSecond * 0.5);
        System.out.printf("keys crash: the log missed $%.3f of $%.3f settled (allowed $%.3f: the load spent $%.2f a second)%n",
                after - logged[1], after, unwritten, spentPerSecond);
        assertTrue(logged[1] >= after - unwritten, "at most the last milliseconds of calls were not yet written: " + logged[1] + " vs "
                + after + " (allowed " + unwritten + ", the load spent " + spentPerSecond + " a second)");

        for (String log : new String[] {"gw-1.log", "gw-2.log", "gw-3.log"}) {
            String text = Files.readString(gateway.dir.resolve(log));
            assertTrue(!log.equals("gw-1.log") || text.contains("key k0/"), "keys are logged by alias and token prefix");
            assertFalse(text.contains(MASTER.substring(10)), "no master key in " + log);
            for (String k : keys) {
                assertFalse(text.contains(k.substring(12)), "no key in " + log);
            }
        }
    }

    /** Calls and their cost in the request log's files (whole lines; one cut by the kill is not a call). */
    private double[] logged() throws Exception {
        double[] sums = new double[2];
        try (var files = Files.list(gateway.dir.resolve("data").resolve("logs"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).toList()) {
                String text = Files.readString(f);
                int end = text.lastIndexOf('\n') + 1;
                for (String line : text.substring(0, end).split("\n")) {
                    if (!line.isEmpty()) {
                        sums[0]++;
                        sums[1] += JSON.readTree(line).get("cost").asDouble();
                    }
                }
            }
        }
        return sums;
    }

    /** Four threads of chat requests over the keys for {@code millis}; adds each answer's cost to {@code costs}. */
    private void load(String base, List<String> keys, long millis, DoubleAdder costs) throws Exception {
        long end = System.nanoTime() + millis * 1_000_000;
        AtomicLong n = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        Map<String, Throwable> failures = new ConcurrentHashMap<>();
        for (int t = 0; t < 4; t++) {
            Thread th = new Thread(() -> {
                while (System.nanoTime() < end) {
                    String key = keys.get((int) (n.incrementAndGet() % keys.size()));
                    try {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                                .header("authorization", "Bearer " + key).timeout(Duration.ofSeconds(5))
                                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"crash test " + n.get() + "\"}]}"))
                                .build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200 && costs != null) {
                            costs.add(Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElse("0")));
                        } else if (r.statusCode() != 200) {
                            failures.put(key, new AssertionError(r.statusCode() + " " + r.body()));
                        }
                    } catch (Exception e) {
                        if (costs == null) {
                            failures.put(key, e);
                        }
                        return;
                    }
                }
            });
            th.start();
            threads.add(th);
        }
        for (Thread th : threads) {
            th.join();
        }
        assertTrue(failures.isEmpty(), failures.toString());
    }

    private Map<String, Double> spend(String base, List<String> keys) throws Exception {
        Map<String, Double> out = new HashMap<>();
        for (String k : keys) {
            out.put(k, get(base, "/key/info?key=" + k).get("info").get("spend").asDouble());
        }
        return out;
    }

    private JsonNode post(String base, String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).header("authorization", "Bearer " + MASTER)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    private JsonNode get(String base, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).header("authorization", "Bearer " + MASTER)
                .GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    /** The lines of a gateway's log about its stores (opened, recovered, warnings): the directory is deleted after the test. */
    private String storeLines(String log) throws Exception {
        return Files.readAllLines(gateway.dir.resolve(log)).stream()
                .filter(l -> l.contains("WARN") || l.contains("ERROR") || l.contains("recover") || l.contains("keys:"))
                .collect(java.util.stream.Collectors.joining("\n"));
    }
}
