package io.nemorouter.server.cache;

import org.junit.jupiter.api.AfterEach;
import io.nemorouter.server.KillableGateway;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kill -9} of a gateway process while it stores answers in a cache small enough to come round
 * many times, and a restart on the same data directory: it starts, answers every request, and each
 * answer it gives from the cache is the one first given for that request, byte for byte.
 */
class CacheCrashTest {
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    KillableGateway gateway;

    @AfterEach
    void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void killNineWhileStoringLeavesACacheThatAnswersOnlyWhatWasAnswered() throws Exception {
        gateway = new KillableGateway("nemo-cache-crash", data -> """
                nemo {
                  server { host = "127.0.0.1", warmup = 0s }
                  data_dir = "%s"
                  cache { enabled = true, max_bytes = 256 KiB, max_entry_size = 64 KiB, average_entry_size = 1 KiB }
                  models = [ { name = "m", provider = mock } ]
                }
                """.formatted(data));
        String base = gateway.base();
        gateway.start("gw-1.log");
        // four clients send distinct requests until the kill: the ring (256 KiB) comes round many times meanwhile
        Map<Integer, String> answered = new ConcurrentHashMap<>();
        AtomicInteger next = new AtomicInteger();
        AtomicBoolean killed = new AtomicBoolean();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            Thread t = new Thread(() -> {
                while (!killed.get()) {
                    int i = next.getAndIncrement();
                    try {
                        HttpResponse<String> r = chat(base, i);
                        if (r.statusCode() == 200) {
                            answered.put(i, r.body());
                        }
                    } catch (Exception gone) {
                        return; // the gateway was killed under it
                    }
                }
            });
            t.start();
            clients.add(t);
        }
        Thread.sleep(4_000);
        killed.set(true);
        gateway.kill(); // mid-store
        for (Thread t : clients) {
            t.join();
        }
        int sent = next.get();
        assertTrue(answered.size() > 300, "the ring came round before the kill: " + answered.size() + " answered");

        gateway.start("gw-2.log");
        int hits = 0;
        for (int i = Math.max(0, sent - 400); i < sent; i++) { // the newest, which the ring may still hold
            HttpResponse<String> r = chat(base, i);
            assertEquals(200, r.statusCode(), r.body());
            if ("hit".equals(r.headers().firstValue("x-nemo-cache").orElse(""))) {
                hits++;
                assertEquals(answered.get(i), r.body(), "request " + i + " is answered from the cache with its own first answer");
            }
        }
        assertTrue(hits > 50, "the answers stored before the kill are kept: " + hits + " hits of the newest 400");
        System.out.printf("cache crash: %d answered before kill -9, %d of the newest 400 hits after the restart%n", answered.size(), hits);
    }

    private HttpResponse<String> chat(String base, int i) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions")).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"seed\":" + i + ",\"messages\":[{\"role\":\"user\","
                        + "\"content\":\"answer number " + i + "\"}]}")).build(), HttpResponse.BodyHandlers.ofString());
    }
}
