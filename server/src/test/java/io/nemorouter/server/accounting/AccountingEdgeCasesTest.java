package io.nemorouter.server.accounting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What clients can send at the request log and the budgets, through a real gateway. */
class AccountingEdgeCasesTest {
    static final String MASTER = "sk-master-test-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();

    ScriptableUpstream upstream;
    TestGateway gw;
    Path keepDir;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        if (upstream != null) {
            upstream.close();
        }
        if (keepDir != null) {
            TestGateway.deleteTree(keepDir);
        }
    }

    TestGateway start(String models, Path dataDir) throws Exception {
        TestGateway.Builder b = TestGateway.builder().config("nemo.models = [" + models + "]\nnemo.keys.master_key = \"" + MASTER + "\"\n");
        if (dataDir != null) {
            b.dataDir(dataDir);
        }
        gw = b.start();
        return gw;
    }

    String entry(String name, String extra) {
        return "{ name = \"" + name + "\", provider = openai, api_base = \"" + upstream.apiBase() + "\", api_key = \"sk-up\" " + extra + " }";
    }

    JsonNode admin(String path, String body) throws Exception {
        HttpResponse<String> r = gw.post(path, body, "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    JsonNode waitForRecords(int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            JsonNode page = JSON.readTree(gw.get("/spend/logs?limit=1000", "authorization", "Bearer " + MASTER).body());
            if (page.get("data").size() >= n || System.nanoTime() > deadline) {
                assertEquals(n, page.get("data").size());
                return page;
            }
            Thread.sleep(20);
        }
    }

    /** One call whose metadata has a job_id over 64 KiB: the sums are still saved, and the gateway starts again. */
    @Test
    void theGatewayStartsAgainAfterACallWithALongJobId() throws Exception {
        upstream = new ScriptableUpstream();
        upstream.otherwise(ScriptableUpstream.chat("hello"));
        keepDir = Files.createTempDirectory("nemo-review");
        start(entry("m", ""), keepDir);
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"metadata\":{\"job_id\":\"" + "j".repeat(70_000) + "\"}}", "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), r.body());
        waitForRecords(1);
        gw.close();
        gw = null;
        assertDoesNotThrow(() -> start(entry("m", ""), keepDir), "the gateway starts again");
    }

    /**
     * An embeddings model's context window is per input: a batch of many inputs is billed for far more
     * tokens than the window, so the budget's worst case must not be capped by it.
     */
    @Test
    void anEmbeddingsBatchCannotSpendPastTheKeysBudget() throws Exception {
        upstream = new ScriptableUpstream();
        upstream.otherwise((req, reply) -> reply.json(200, "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
                + "\"embedding\":[0.1,0.2]}],\"model\":\"text-embedding-004\",\"usage\":{\"prompt_tokens\":10000,\"total_tokens\":10000}}"));
        start(entry("text-embedding-004", ""), null); // the price table: 0.10 per million, context_window 2048
        String key = admin("/key/generate", "{\"key_alias\":\"rag\",\"max_budget\":0.0005}").get("key").asText();
        StringBuilder body = new StringBuilder("{\"model\":\"text-embedding-004\",\"input\":[");
        for (int i = 0; i < 100; i++) {
            body.append(i == 0 ? "" : ",").append('"').append("chunk of a document ".repeat(20)).append('"');
        }
        body.append("]}"); // ~40 KB: 10,000 tokens is about 4 bytes a token
        HttpResponse<String> r = gw.post("/v1/embeddings", body.toString(), "authorization", "Bearer " + key);
        assertEquals(402, r.statusCode(), "its worst case (the body's bytes as tokens) is over the budget: " + r.body());
        JsonNode info = JSON.readTree(gw.get("/key/info?key=" + key, "authorization", "Bearer " + MASTER).body());
        assertEquals(0, info.get("info").get("spend").asDouble(), 1e-12);
        // with room for the worst case, the batch goes through and is billed for its 10,000 tokens
        String roomy = admin("/key/generate", "{\"key_alias\":\"rag2\",\"max_budget\":0.005}").get("key").asText();
        assertEquals(200, gw.post("/v1/embeddings", body.toString(), "authorization", "Bearer " + roomy).statusCode());
        JsonNode info2 = JSON.readTree(gw.get("/key/info?key=" + roomy, "authorization", "Bearer " + MASTER).body());
        assertEquals(0.001, info2.get("info").get("spend").asDouble(), 1e-9);
    }

    /** A group value with a carriage return (or any control character) does not break a CSV row. */
    @Test
    void aCsvGroupWithACarriageReturnKeepsItsRowWhole() throws Exception {
        upstream = new ScriptableUpstream();
        upstream.otherwise(ScriptableUpstream.chat("hello"));
        start(entry("m", ""), null);
        gw.post("/v1/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"metadata\":{\"stage\":\"a\\rb\"}}", "authorization", "Bearer " + MASTER);
        waitForRecords(1);
        String csv = gw.get("/spend/report?group_by=stage&format=csv", "authorization", "Bearer " + MASTER).body();
        assertTrue(!csv.contains("\r"), "no bare CR in the CSV: " + csv.replace("\r", "\\r"));
        String[] lines = csv.split("\n");
        assertEquals(2, lines.length, csv);
        assertTrue(lines[1].startsWith("a b,"), lines[1]);
        assertEquals(lines[0].split(",").length, lines[1].split(",").length);
    }
}
