package io.nemorouter.server.keys;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.filters.keys.KeysExtension;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Virtual keys through a real gateway: every status auth, limits and budget answer, and the admin API. */
class KeysTest {
    static final String MASTER = "sk-master-test-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();
    /** 10 prompt + 5 completion tokens (the scripted usage) at these prices: $0.02 a request. */
    static final String PRICES = "input_cost_per_mtok = 1000, output_cost_per_mtok = 2000";

    ScriptableUpstream upstream;
    TestGateway gw;
    final ManualClock clock = new ManualClock(Instant.parse("2026-03-01T00:00:00Z"));

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    TestGateway start(String master) throws Exception {
        upstream = new ScriptableUpstream();
        String entry = "{ name = \"m\", provider = openai, api_base = \"" + upstream.apiBase() + "\", api_key = \"sk-up\", " + PRICES + " }";
        String other = "{ name = \"other\", provider = openai, api_base = \"" + upstream.apiBase() + "\", api_key = \"sk-up\", " + PRICES + " }";
        gw = TestGateway.builder()
                .config("nemo.models = [" + entry + ", " + other + "]")
                .config(master == null ? "" : "nemo.keys.master_key = \"" + master + "\"")
                .extension(new KeysExtension(clock))
                .start();
        return gw;
    }

    JsonNode admin(String path, String body) throws Exception {
        HttpResponse<String> r = gw.post(path, body, "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    JsonNode adminGet(String path) throws Exception {
        gw.awaitIdle(); // spend is settled just after an answer's last byte, maybe on the other event loop
        HttpResponse<String> r = gw.get(path, "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    String newKey(String body) throws Exception {
        return admin("/key/generate", body).get("key").asText();
    }

    HttpResponse<String> chat(String key, String model) throws Exception {
        return gw.post("/v1/chat/completions", "{\"model\":\"" + model + "\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "authorization", "Bearer " + key);
    }

    static JsonNode error(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body()).get("error");
    }

    static void assertError(HttpResponse<String> r, int status, String type, String code) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode e = error(r);
        assertEquals(type, e.get("type").asText(), r.body());
        assertEquals(code, e.get("code").asText(), r.body());
        assertTrue(e.has("param") && e.has("message"), r.body());
        assertTrue(r.headers().firstValue("x-request-id").isPresent());
    }

    @Test
    void withoutAMasterKeyTheGatewayIsOpenAndTheAdminApiSaysHowToTurnItOn() throws Exception {
        start(null);
        assertEquals(200, gw.post("/v1/chat/completions", TestGateway.chat("m", false)).statusCode(), "no key needed");
        assertEquals(200, chat("sk-anything", "m").statusCode(), "an unknown key passes too");
        HttpResponse<String> r = gw.post("/key/generate", "{}", "authorization", "Bearer sk-anything");
        assertError(r, 403, "permission_error", "admin_api_disabled");
        assertTrue(error(r).get("message").asText().contains("NEMO_MASTER_KEY"));
    }

    @Test
    void authRefusesMissingUnknownExpiredAndBlockedKeysAndModelsOffTheList() throws Exception {
        start(MASTER);
        assertError(gw.post("/v1/chat/completions", TestGateway.chat("m", false)), 401, "invalid_request_error", "missing_api_key");
        HttpResponse<String> unknown = chat("sk-nemo-notakey000000000000000000000000", "m");
        assertError(unknown, 401, "invalid_request_error", "invalid_api_key");
        assertFalse(unknown.body().contains("notakey000000000000000000000000"), "the secret is not echoed whole");
        HttpResponse<String> provider = chat("sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX", "m");
        assertError(provider, 401, "invalid_request_error", "invalid_api_key");
        assertFalse(provider.body().contains("sk-proj-ABCD"), "a credential that is not a virtual key is not echoed at all");

        String expiring = newKey("{\"key_alias\":\"temp\",\"duration\":\"1h\"}");
        assertEquals(200, chat(expiring, "m").statusCode());
        clock.advance(Duration.ofHours(1));
        assertError(chat(expiring, "m"), 401, "invalid_request_error", "key_expired");
        assertTrue(adminGet("/key/info?key=" + expiring).get("info").get("expired").asBoolean());

        String blocked = newKey("{\"blocked\":true}");
        assertError(chat(blocked, "m"), 403, "permission_error", "key_blocked");
        admin("/key/unblock", "{\"key\":\"" + blocked + "\"}");
        assertEquals(200, chat(blocked, "m").statusCode(), "unblocked");

        String onlyM = newKey("{\"models\":[\"m\"]}");
        assertEquals(200, chat(onlyM, "m").statusCode());
        assertError(chat(onlyM, "other"), 403, "permission_error", "model_not_allowed");

        admin("/team/new", "{\"team_id\":\"t\",\"models\":[\"other\"]}");
        String inTeam = newKey("{\"team_id\":\"t\"}");
        assertError(chat(inTeam, "m"), 403, "permission_error", "model_not_allowed");
        assertEquals(200, chat(inTeam, "other").statusCode());

        assertEquals(200, chat(MASTER, "m").statusCode(), "the master key may call models");
        assertEquals(200, gw.post("/v1/chat/completions", TestGateway.chat("m", false), "x-api-key", onlyM).statusCode(),
                "x-api-key works as well as Authorization");

        String metrics = gw.get("/metrics").body();
        assertTrue(metrics.contains("nemo_auth_failures_total{reason=\"missing\",} 1.0"), metrics);
        assertTrue(metrics.contains("nemo_auth_failures_total{reason=\"unknown\",} 2.0"), metrics);
        assertTrue(metrics.contains("nemo_auth_failures_total{reason=\"expired\",} 1.0"), metrics);
        for (String secret : new String[] {MASTER, expiring, blocked, onlyM, inTeam}) {
            assertFalse(metrics.contains(secret.substring(8)), "no secret in a metric");
        }
    }

    @Test
    void aKeyAtItsBudgetGets402NamingTheLevelAndNeverAnOverage() throws Exception {
        start(MASTER);
        String key = newKey("{\"key_alias\":\"dev\",\"max_budget\":0.1}");
        int ok = 0;
        HttpResponse<String> last = null;
        for (int i = 0; i < 10; i++) {
            last = chat(key, "m");
            if (last.statusCode() == 200) {
                ok++;
            } else {
                break;
            }
        }
        assertError(last, 402, "budget_exceeded", "key_budget_exceeded");
        assertTrue(error(last).get("message").asText().contains("of its $0.10 budget"), last.body());
        JsonNode info = adminGet("/key/info?key=" + key);
        assertTrue(info.get("info").get("spend").asDouble() <= 0.1 + 1e-12, info.toString());
        assertEquals(ok * 0.02, info.get("info").get("spend").asDouble(), 1e-9);
    }

    @Test
    void twoHundredConcurrentRequestsRacingAKeysLastDollarsEndWithinTheBudget() throws Exception {
        start(MASTER);
        upstream.on("m", (req, reply) -> reply.after(Duration.ofMillis(30),
                () -> reply.json(200, ScriptableUpstream.chatJson("m", "raced"))));
        String key = newKey("{\"max_budget\":1.0}");
        for (int i = 0; i < 40; i++) { // $0.80 of $1.00 spent: 200 requests race for the last $0.20
            assertEquals(200, chat(key, "m").statusCode());
        }
        java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> all = new java.util.ArrayList<>();
        java.net.http.HttpRequest req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/v1/chat/completions"))
                .header("authorization", "Bearer " + key)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build();
        java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
        for (int i = 0; i < 200; i++) {
            all.add(client.sendAsync(req, HttpResponse.BodyHandlers.ofString()));
        }
        int ok = 0;
        int refused = 0;
        for (var f : all) {
            HttpResponse<String> r = f.get(30, java.util.concurrent.TimeUnit.SECONDS);
            if (r.statusCode() == 200) {
                ok++;
            } else {
                assertError(r, 402, "budget_exceeded", "key_budget_exceeded");
                refused++;
            }
        }
        double spend = adminGet("/key/info?key=" + key).get("info").get("spend").asDouble();
        assertTrue(spend <= 1.0 + 1e-12, "settled spend " + spend + " is within the $1.00 budget");
        assertEquals(0.80 + ok * 0.02, spend, 1e-9, "every answer was paid for, once");
        assertTrue(ok >= 1 && refused >= 150, ok + " answered, " + refused + " refused");
    }

    /** 18 digits of max_tokens once made the worst case wrap round and open the budget to everyone. */
    @Test
    void aHugeMaxTokensCannotOpenTheBudget() throws Exception {
        start(MASTER);
        String key = newKey("{\"max_budget\":0.2}");
        assertEquals(200, chat(key, "m").statusCode());
        upstream.on("m", (req, reply) -> reply.after(Duration.ofMillis(300),
                () -> reply.json(200, ScriptableUpstream.chatJson("m", "ok"))));
        java.util.List<String> bodies = new java.util.ArrayList<>();
        bodies.add("{\"model\":\"m\",\"max_tokens\":999999999999999999,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        for (int i = 0; i < 8; i++) {
            bodies.add("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        }
        int ok = 0;
        for (HttpResponse<String> r : concurrently(key, bodies)) {
            ok += r.statusCode() == 200 ? 1 : 0;
        }
        double spend = adminGet("/key/info?key=" + key).get("info").get("spend").asDouble();
        assertTrue(spend <= 0.2 + 1e-12, ok + " answered; settled spend " + spend + " passes the $0.20 budget");
    }

    /** n choices are reserved n times: three concurrent n = 8 requests cannot settle past the budget. */
    @Test
    void manyChoicesAreReservedForEachChoice() throws Exception {
        start(MASTER);
        String key = newKey("{\"max_budget\":0.30}");
        String eight = "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":["
                + String.join(",", java.util.Collections.nCopies(8,
                "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"abcde\"},\"finish_reason\":\"length\"}"))
                + "],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":40,\"total_tokens\":50}}";
        upstream.on("m", (req, reply) -> reply.after(Duration.ofMillis(300), () -> reply.json(200, eight)));
        String body = "{\"model\":\"m\",\"n\":8,\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        int ok = 0;
        for (HttpResponse<String> r : concurrently(key, java.util.List.of(body, body, body))) {
            ok += r.statusCode() == 200 ? 1 : 0;
        }
        double spend = adminGet("/key/info?key=" + key).get("info").get("spend").asDouble();
        assertTrue(ok >= 1, "the first fits");
        assertTrue(spend <= 0.30 + 1e-12, ok + " answered; settled spend " + spend + " passes the $0.30 budget");
        assertEquals(ok * 0.09, spend, 1e-9, "each answer cost 10 x $1000/M + 40 x $2000/M");
    }

    private java.util.List<HttpResponse<String>> concurrently(String key, java.util.List<String> bodies) throws Exception {
        java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
        java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> all = new java.util.ArrayList<>();
        for (String body : bodies) {
            all.add(client.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/v1/chat/completions"))
                    .header("authorization", "Bearer " + key).POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString()));
            Thread.sleep(20);
        }
        java.util.List<HttpResponse<String>> out = new java.util.ArrayList<>();
        for (var f : all) {
            out.add(f.get(30, java.util.concurrent.TimeUnit.SECONDS));
        }
        return out;
    }

    @Test
    void teamAndOrganizationBudgetsAndLimitsHoldAcrossTheirKeys() throws Exception {
        start(MASTER);
        // a request here reserves about $0.081 (71 bytes of prompt at $1000/M, 5 tokens at $2000/M) and costs $0.02
        admin("/organization/new", "{\"organization_id\":\"acme\",\"max_budget\":0.12}");
        admin("/team/new", "{\"team_id\":\"ml\",\"organization_id\":\"acme\",\"rpm_limit\":3}");
        String a = newKey("{\"team_id\":\"ml\"}");
        String b = newKey("{\"team_id\":\"ml\"}");
        assertEquals(200, chat(a, "m").statusCode());
        assertEquals(200, chat(b, "m").statusCode());
        HttpResponse<String> third = chat(a, "m");
        assertError(third, 402, "budget_exceeded", "org_budget_exceeded"); // $0.04 spent, up to $0.081 more would pass $0.12
        admin("/organization/update", "{\"organization_id\":\"acme\",\"max_budget\":10}");
        assertEquals(200, chat(b, "m").statusCode(), "the third request of the team this minute");
        HttpResponse<String> fourth = chat(a, "m");
        assertError(fourth, 429, "requests", "rate_limit_exceeded");
        assertTrue(error(fourth).get("message").asText().contains("team"), fourth.body());

        admin("/team/update", "{\"team_id\":\"ml\",\"rpm_limit\":null,\"max_budget\":0.08}");
        HttpResponse<String> teamBroke = chat(a, "m"); // the team has spent 0.06
        assertError(teamBroke, 402, "budget_exceeded", "team_budget_exceeded");
        JsonNode org = adminGet("/organization/info?organization_id=acme");
        assertEquals(0.06, org.get("spend").asDouble(), 1e-9);

        // an organization's RPM holds across its teams: two teams, one request each, the second refused
        admin("/organization/new", "{\"organization_id\":\"small\",\"rpm_limit\":1,\"tpm_limit\":100000}");
        admin("/team/new", "{\"team_id\":\"x\",\"organization_id\":\"small\"}");
        admin("/team/new", "{\"team_id\":\"y\",\"organization_id\":\"small\"}");
        HttpResponse<String> fromX = chat(newKey("{\"team_id\":\"x\"}"), "m");
        assertEquals(200, fromX.statusCode());
        assertEquals("1", fromX.headers().firstValue("x-ratelimit-limit-requests").orElseThrow(), "the org's limit is the tightest");
        HttpResponse<String> fromY = chat(newKey("{\"team_id\":\"y\"}"), "m");
        assertError(fromY, 429, "requests", "rate_limit_exceeded");
        assertTrue(error(fromY).get("message").asText().contains("organization"), fromY.body());
    }

    @Test
    void rpmTpmAndParallelLimitsAnswer429WithRetryAfterAndEveryAnswerHasRateHeaders() throws Exception {
        start(MASTER);
        String key = newKey("{\"rpm_limit\":2,\"tpm_limit\":1000}");
        HttpResponse<String> first = chat(key, "m");
        assertEquals(200, first.statusCode());
        assertEquals("2", first.headers().firstValue("x-ratelimit-limit-requests").orElseThrow());
        assertEquals("1", first.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow());
        assertEquals("30s", first.headers().firstValue("x-ratelimit-reset-requests").orElseThrow());
        assertEquals("1000", first.headers().firstValue("x-ratelimit-limit-tokens").orElseThrow());
        assertTrue(first.headers().firstValue("x-ratelimit-remaining-tokens").isPresent());
        assertTrue(first.headers().firstValue("x-ratelimit-reset-tokens").isPresent());

        HttpResponse<String> streamed = gw.post("/v1/chat/completions", TestGateway.chat("m", true), "authorization", "Bearer " + key);
        assertEquals(200, streamed.statusCode());
        assertEquals("0", streamed.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow(), "a stream has them too");

        HttpResponse<String> third = chat(key, "m");
        assertError(third, 429, "requests", "rate_limit_exceeded");
        assertEquals("30", third.headers().firstValue("retry-after").orElseThrow());
        clock.advance(Duration.ofSeconds(30));
        assertEquals(200, chat(key, "m").statusCode(), "after Retry-After");

        String tokens = newKey("{\"tpm_limit\":60}");
        String big = "{\"model\":\"m\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(100) + "\"}]}";
        assertEquals(200, gw.post("/v1/chat/completions", big, "authorization", "Bearer " + tokens).statusCode());
        HttpResponse<String> tooMany = gw.post("/v1/chat/completions", big, "authorization", "Bearer " + tokens);
        assertError(tooMany, 429, "tokens", "rate_limit_exceeded");
        assertTrue(Integer.parseInt(tooMany.headers().firstValue("retry-after").orElseThrow()) >= 1);

        String parallel = newKey("{\"max_parallel_requests\":1}");
        upstream.on("m", (req, reply) -> reply.after(Duration.ofMillis(600),
                () -> reply.json(200, ScriptableUpstream.chatJson("m", "slow"))));
        var slow = gw.http().sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/v1/chat/completions"))
                .header("authorization", "Bearer " + parallel)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(TestGateway.chat("m", false))).build(),
                HttpResponse.BodyHandlers.ofString());
        Thread.sleep(200);
        HttpResponse<String> second = chat(parallel, "m");
        assertError(second, 429, "requests", "rate_limit_exceeded");
        assertEquals(200, slow.get().statusCode());
        gw.awaitIdle(); // the place is given back just after the answer's last byte
        assertEquals(200, chat(parallel, "m").statusCode(), "its place was given back");
    }

    @Test
    void aBudgetResetsAtItsDurationsBoundary() throws Exception {
        start(MASTER);
        String key = newKey("{\"max_budget\":0.1,\"budget_duration\":\"1d\"}");
        assertEquals(200, chat(key, "m").statusCode());
        HttpResponse<String> refused = chat(key, "m");
        assertError(refused, 402, "budget_exceeded", "key_budget_exceeded");
        assertTrue(error(refused).get("message").asText().contains("resets at 2026-03-02T00:00:00Z"), refused.body());
        clock.advance(Duration.ofDays(1));
        assertEquals(200, chat(key, "m").statusCode(), "a new day, a new budget");
        JsonNode info = adminGet("/key/info?key=" + key).get("info");
        assertEquals(0.02, info.get("spend").asDouble(), 1e-9);
        assertEquals(0.04, info.get("total_spend").asDouble(), 1e-9);
        assertEquals("2026-03-03T00:00:00Z", info.get("budget_reset_at").asText());
    }

    @Test
    void aRotatedKeyKeepsItsSettingsAndSpendAndTheOldSecretStopsWorking() throws Exception {
        start(MASTER);
        JsonNode made = admin("/key/generate", "{\"key_alias\":\"ci\",\"max_budget\":5,\"rpm_limit\":100}");
        String old = made.get("key").asText();
        assertEquals(200, chat(old, "m").statusCode());
        JsonNode rotated = admin("/key/regenerate", "{\"key\":\"" + made.get("token").asText() + "\"}");
        String fresh = rotated.get("key").asText();
        assertNotEquals(old, fresh);
        assertTrue(fresh.matches("sk-nemo-[0-9A-Za-z]{40}"), fresh);
        assertEquals(made.get("key_id").asText(), rotated.get("key_id").asText());
        assertEquals(rotated.get("token").asText(), adminGet("/key/info?key=" + made.get("key_id").asText()).get("key").asText(),
                "the key_id finds the key across rotations");
        assertError(chat(old, "m"), 401, "invalid_request_error", "invalid_api_key");
        assertEquals(200, chat(fresh, "m").statusCode());
        JsonNode info = adminGet("/key/info?key=" + fresh).get("info");
        assertEquals("ci", info.get("key_alias").asText());
        assertEquals(100, info.get("rpm_limit").asInt());
        assertEquals(0.04, info.get("spend").asDouble(), 1e-9);
    }

    @Test
    void theAdminApiValidatesEveryFieldListsWithoutSecretsAndLetsAKeyReadOnlyItself() throws Exception {
        start(MASTER);
        HttpResponse<String> bad = gw.post("/key/generate", "{\"max_budget\":\"lots\"}", "authorization", "Bearer " + MASTER);
        assertError(bad, 400, "invalid_request_error", "invalid_field");
        assertEquals("max_budget", error(bad).get("param").asText());
        for (String body : new String[] {"{\"rpm_limit\":0}", "{\"budget_duration\":\"2w\"}", "{\"models\":\"m\"}",
                "{\"team_id\":\"nope\"}", "{\"max_budgt\":1}", "{\"expires\":\"tomorrow\"}", "{\"blocked\":\"yes\"}"}) {
            HttpResponse<String> r = gw.post("/key/generate", body, "authorization", "Bearer " + MASTER);
            assertError(r, 400, "invalid_request_error", "invalid_field");
            assertTrue(body.contains(error(r).get("param").asText()), body + " -> " + r.body());
        }
        assertError(gw.post("/key/generate", "not json", "authorization", "Bearer " + MASTER), 400, "invalid_request_error", "invalid_json");

        String a = newKey("{\"key_alias\":\"a\"}");
        String b = newKey("{\"key_alias\":\"b\"}");
        HttpResponse<String> list = gw.get("/key/list?page=1&size=1", "authorization", "Bearer " + MASTER);
        assertEquals(200, list.statusCode());
        assertFalse(list.body().contains(a.substring(12)) || list.body().contains(b.substring(12)), "no secret in a list");
        JsonNode page = JSON.readTree(list.body());
        assertEquals(2, page.get("total_count").asInt());
        assertEquals(2, page.get("total_pages").asInt());
        assertEquals("a", page.get("keys").get(0).get("key_alias").asText());

        assertEquals("a", JSON.readTree(gw.get("/key/info", "authorization", "Bearer " + a).body()).get("info").get("key_alias").asText());
        assertError(gw.get("/key/info?key=" + b, "authorization", "Bearer " + a), 403, "permission_error", "master_key_required");
        assertError(gw.get("/key/list", "authorization", "Bearer " + a), 403, "permission_error", "master_key_required");
        assertError(gw.get("/key/list"), 401, "invalid_request_error", "missing_api_key");

        JsonNode deleted = admin("/key/delete", "{\"keys\":[\"" + a + "\"]}");
        assertEquals(1, deleted.get("deleted_keys").size());
        assertError(chat(a, "m"), 401, "invalid_request_error", "invalid_api_key");
        HttpResponse<String> gone = gw.get("/key/info?key=" + a, "authorization", "Bearer " + MASTER);
        assertEquals(404, gone.statusCode());

        admin("/team/new", "{\"team_id\":\"t1\",\"team_alias\":\"Team One\",\"max_budget\":400,\"budget_duration\":\"1mo\"}");
        newKey("{\"team_id\":\"t1\"}");
        assertError(gw.post("/team/delete", "{\"team_ids\":[\"t1\"]}", "authorization", "Bearer " + MASTER), 409,
                "invalid_request_error", "has_members");
        JsonNode teams = JSON.readTree(gw.get("/team/list", "authorization", "Bearer " + MASTER).body());
        assertEquals("Team One", teams.get("data").get(0).get("team_alias").asText());
        assertEquals("2026-04-01T00:00:00Z", teams.get("data").get(0).get("budget_reset_at").asText());
        assertNull(JSON.readTree(gw.get("/organization/list", "authorization", "Bearer " + MASTER).body()).get("data").get(0));
    }

    @Test
    void anAdminMayChooseAKeysSecretAsLiteLlmAllowsToKeepTheKeysClientsHave() throws Exception {
        start(MASTER);
        String chosen = "sk-migrated-from-litellm-0001";
        JsonNode made = admin("/key/generate", "{\"key\":\"" + chosen + "\",\"key_alias\":\"moved\"}");
        assertEquals(chosen, made.get("key").asText());
        assertEquals(200, chat(chosen, "m").statusCode());
        HttpResponse<String> again = gw.post("/key/generate", "{\"key\":\"" + chosen + "\"}", "authorization", "Bearer " + MASTER);
        assertError(again, 400, "invalid_request_error", "invalid_field");
        assertEquals("key", error(again).get("param").asText());
        for (String bad : new String[]{"short-key", "sk-has a space-000000000", "pk-0123456789012345678901"}) {
            HttpResponse<String> r = gw.post("/key/generate", "{\"key\":\"" + bad + "\"}", "authorization", "Bearer " + MASTER);
            assertEquals(400, r.statusCode(), bad);
        }
    }

    /** The built-in mock answers in the gateway without an upstream attempt: its answers still count toward RPM. */
    @Test
    void rpmLimitHoldsForAModelTheMockAnswers() throws Exception {
        upstream = new ScriptableUpstream();
        gw = TestGateway.builder()
                .config("nemo.models = [ { name = \"mocked\", provider = mock, " + PRICES + " } ]")
                .config("nemo.keys.master_key = \"" + MASTER + "\"")
                .extension(new KeysExtension(clock))
                .start();
        String key = newKey("{\"rpm_limit\":3}");
        for (int i = 0; i < 3; i++) {
            assertEquals(200, chat(key, "mocked").statusCode());
        }
        assertError(chat(key, "mocked"), 429, "requests", "rate_limit_exceeded");
    }
}
