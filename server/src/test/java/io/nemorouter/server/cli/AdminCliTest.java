package io.nemorouter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The admin command line against a real gateway: what it prints, what it changes, and its exit codes. */
class AdminCliTest {
    static final String MASTER = "sk-master-cli-0123456789";
    static final Map<String, String> ENV = Map.of("NEMO_MASTER_KEY", MASTER);
    static final Pattern SECRET = Pattern.compile("sk-nemo-[0-9A-Za-z]{40}");
    static final Pattern TIME = Pattern.compile("\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC");
    static final ObjectMapper JSON = new ObjectMapper();

    TestGateway gw;

    /** What one run printed, and its exit code. */
    record Run(int code, String out, String err) {
    }

    @BeforeEach
    void start() throws Exception {
        gw = TestGateway.builder()
                .config("nemo.keys.master_key = \"" + MASTER + "\"\n"
                        + " nemo.models = [ { name = \"m\", provider = mock, input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 } ]")
                .start();
    }

    @AfterEach
    void stop() {
        gw.close();
    }

    Run cli(String... args) {
        return cli(ENV, args);
    }

    /** {@link AdminCli#run} in this JVM, against this test's gateway, with {@code env} for the environment. */
    Run cli(Map<String, String> env, String... args) {
        List<String> line = new ArrayList<>(List.of("--url", gw.base())); // a later --url in args wins
        line.addAll(Arrays.asList(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = AdminCli.run(line.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), env);
        Run run = new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        assertFalse(run.out.contains(MASTER) || run.err.contains(MASTER), "the master key is never printed: " + run);
        return run;
    }

    /** Runs a command that must succeed. */
    Run ok(String... args) {
        Run r = cli(args);
        assertEquals(0, r.code, String.join(" ", args) + ": " + r);
        assertEquals("", r.err, String.join(" ", args));
        return r;
    }

    /** The one secret in {@code out}: it is printed exactly once. */
    static String onlySecret(String out) {
        Matcher m = SECRET.matcher(out);
        assertTrue(m.find(), out);
        String secret = m.group();
        assertFalse(m.find(), "the secret once: " + out);
        assertEquals(1, out.split(Pattern.quote(secret), -1).length - 1, out);
        return secret;
    }

    String newKey(String... options) {
        List<String> args = new ArrayList<>(List.of("keys", "create"));
        args.addAll(List.of(options));
        return onlySecret(ok(args.toArray(String[]::new)).out);
    }

    /** The value of the "label: value" line. */
    static String value(String out, String label) {
        for (String line : out.split("\n")) {
            if (line.startsWith(label + ":")) {
                return line.substring(label.length() + 1).strip();
            }
        }
        throw new AssertionError("no line \"" + label + ":\" in\n" + out);
    }

    /** A table's rows, cut into cells at runs of two or more spaces. */
    static List<List<String>> rows(String table) {
        List<List<String>> rows = new ArrayList<>();
        for (String line : table.split("\n")) {
            rows.add(List.of(line.split(" {2,}")));
        }
        return rows;
    }

    /** A key's token: the SHA-256 of its secret, in hex. */
    static String token(String secret) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    }

    HttpResponse<String> chat(String key) throws Exception {
        // max_tokens: the budget reserves the most a request may cost
        return gw.post("/v1/chat/completions", "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "authorization", "Bearer " + key);
    }

    @Test
    void createPrintsTheSecretOnceAndTheKeysSettingsAndTheKeyWorks() throws Exception {
        Run r = ok("keys", "create", "--alias", "ci", "--budget", "5", "--budget-duration", "1mo", "--rpm", "100",
                "--parallel", "4", "--tags", "nightly,eu", "--expires-in", "30d", "--metadata", "{\"owner\":\"ana\"}");
        String secret = onlySecret(r.out);
        assertTrue(r.out.startsWith("The key's secret, shown only now (the gateway keeps only its hash):\n\n    " + secret + "\n\n"), r.out);
        assertEquals("ci", value(r.out, "alias"));
        assertEquals(token(secret), value(r.out, "token"));
        assertEquals(secret.substring(0, 12) + "…", value(r.out, "name"));
        assertEquals("$0.00 / $5.00", value(r.out, "spend / budget"));
        assertEquals("1mo", value(r.out, "budget period"));
        assertTrue(TIME.matcher(value(r.out, "budget resets")).matches(), r.out);
        assertEquals("100", value(r.out, "rpm limit"));
        assertEquals("-", value(r.out, "tpm limit"));
        assertEquals("4", value(r.out, "parallel limit"));
        assertEquals("nightly, eu", value(r.out, "tags"));
        assertTrue(TIME.matcher(value(r.out, "expires")).matches(), r.out);
        assertEquals("{\"owner\":\"ana\"}", value(r.out, "metadata"));
        assertEquals("active", value(r.out, "state"));
        assertEquals(200, chat(secret).statusCode(), "the new key works");

        JsonNode made = JSON.readTree(ok("keys", "create", "--alias", "j", "--json").out);
        assertTrue(SECRET.matcher(made.get("key").asText()).matches(), made.toString());
        assertEquals("j", made.get("key_alias").asText());
        assertEquals(200, chat(made.get("key").asText()).statusCode());
    }

    @Test
    void listShowsEveryKeyAsATableOrAsJson() throws Exception {
        ok("teams", "create", "--id", "ml");
        String alpha = newKey("--alias", "alpha", "--budget", "80", "--budget-duration", "1d");
        String beta = newKey("--alias", "beta", "--team", "ml", "--rpm", "60", "--tpm", "1000");
        String gamma = newKey("--alias", "gamma");
        ok("keys", "update", gamma, "--block");
        assertEquals(200, chat(alpha).statusCode());

        // The spend is settled when the exchange finishes, just after its last byte is flushed: a
        // list sent the moment the answer arrives may reach the other event loop first (it did in CI).
        gw.awaitIdle();
        Run table = ok("keys", "list");
        List<List<String>> rows = rows(table.out);
        assertEquals(4, rows.size(), table.out);
        assertEquals(List.of("ALIAS", "TOKEN", "NAME", "TEAM", "SPEND / BUDGET", "RESETS", "RPM", "TPM", "STATE"), rows.get(0));
        List<String> a = rows.get(1);
        assertEquals(List.of("alpha", token(alpha).substring(0, 8), alpha.substring(0, 12) + "…", "-"), a.subList(0, 4), table.out);
        assertTrue(a.get(4).matches("\\$0\\.\\d[1-9] / \\$80\\.00") || a.get(4).matches("\\$0\\.[1-9]\\d / \\$80\\.00"),
                "alpha spent something: " + a.get(4));
        assertTrue(TIME.matcher(a.get(5)).matches(), a.get(5));
        assertEquals(List.of("-", "-", "active"), a.subList(6, 9));
        assertEquals(List.of("beta", token(beta).substring(0, 8), beta.substring(0, 12) + "…", "ml", "$0.00 / -", "-", "60", "1000", "active"),
                rows.get(2));
        assertEquals(List.of("gamma", "blocked"), List.of(rows.get(3).get(0), rows.get(3).get(8)));
        assertFalse(table.out.contains(alpha) || table.out.contains(beta), "no secret in a list");

        List<List<String>> ml = rows(ok("keys", "list", "--team", "ml").out);
        assertEquals(2, ml.size());
        assertEquals("beta", ml.get(1).get(0));

        JsonNode json = JSON.readTree(ok("keys", "list", "--json").out);
        assertEquals(3, json.get("total_count").asInt());
        assertEquals(List.of("alpha", "beta", "gamma"), json.get("keys").findValuesAsText("key_alias"));
        assertEquals(token(beta), json.get("keys").get(1).get("token").asText());
    }

    @Test
    void listReadsEveryPage() throws Exception {
        int n = AdminClient.PAGE_SIZE + 1;
        for (int i = 0; i < n; i++) {
            assertEquals(200, gw.post("/key/generate", "{\"key_alias\":\"k" + i + "\"}", "authorization", "Bearer " + MASTER).statusCode());
        }
        JsonNode json = JSON.readTree(ok("keys", "list", "--json").out);
        assertEquals(n, json.get("total_count").asInt());
        assertEquals(n, new HashSet<>(json.get("keys").findValuesAsText("token")).size(), "every key once");
        assertEquals(n + 1, ok("keys", "list").out.lines().count(), "a header and a row a key");
    }

    @Test
    void infoAndUpdateNameAKeyBySecretTokenOrTheTokensStart() throws Exception {
        String secret = newKey("--alias", "svc");
        String start = token(secret).substring(0, 8);
        Run updated = ok("keys", "update", start, "--budget", "80", "--rpm", "10", "--alias", "svc-2");
        assertEquals("$0.00 / $80.00", value(updated.out, "spend / budget"));

        Run info = ok("keys", "info", secret);
        assertEquals("svc-2", value(info.out, "alias"));
        assertEquals("$0.00 / $80.00", value(info.out, "spend / budget"));
        assertEquals("10", value(info.out, "rpm limit"));
        assertEquals("never", value(info.out, "expires"));
        assertEquals(info.out, ok("keys", "info", token(secret)).out, "by the whole token");

        assertEquals("-", value(ok("keys", "update", start, "--rpm", "none").out, "rpm limit"), "none removes a limit");
        JsonNode json = JSON.readTree(ok("keys", "info", start, "--json").out);
        assertEquals(80.0, json.get("info").get("max_budget").asDouble());
        assertTrue(json.get("info").get("rpm_limit").isNull());
    }

    @Test
    void rotatePrintsANewSecretAndTheOldOneStopsWorking() throws Exception {
        String old = newKey("--alias", "rot", "--rpm", "50");
        assertEquals(200, chat(old).statusCode());
        Run r = ok("keys", "rotate", old);
        String fresh = onlySecret(r.out);
        assertNotEquals(old, fresh);
        assertTrue(r.out.startsWith("The key's new secret, shown only now (the old one no longer works):"), r.out);
        assertEquals("rot", value(r.out, "alias"));
        assertEquals("50", value(r.out, "rpm limit"));
        assertEquals(401, chat(old).statusCode());
        assertEquals(200, chat(fresh).statusCode());
    }

    @Test
    void blockRefusesTheKeyAndUnblockLetsItIn() throws Exception {
        String key = newKey("--alias", "blk");
        assertEquals("Blocked key blk (" + token(key).substring(0, 8) + ").\n", ok("keys", "block", key).out);
        HttpResponse<String> refused = chat(key);
        assertEquals(403, refused.statusCode());
        assertEquals("key_blocked", JSON.readTree(refused.body()).get("error").get("code").asText());
        assertEquals("blocked", value(ok("keys", "info", key).out, "state"));
        assertEquals("Unblocked key blk (" + token(key).substring(0, 8) + ").\n", ok("keys", "unblock", key).out);
        assertEquals(200, chat(key).statusCode());
    }

    @Test
    void deleteRemovesEveryKeyNamed() throws Exception {
        String a = newKey();
        String b = newKey();
        Run r = ok("keys", "delete", a, token(b).substring(0, 8));
        assertEquals("Deleted 2 keys: " + token(a).substring(0, 8) + ", " + token(b).substring(0, 8) + ".\n", r.out);
        assertEquals(401, chat(a).statusCode());
        assertEquals(401, chat(b).statusCode());
        assertEquals("No keys.\n", ok("keys", "list").out);
    }

    @Test
    void teamsAndOrganizations() throws Exception {
        Run org = ok("orgs", "create", "--id", "acme", "--alias", "Acme Corp", "--budget", "1000", "--budget-duration", "1mo");
        assertEquals("acme", value(org.out, "id"));
        assertEquals("$0.00 / $1000.00", value(org.out, "spend / budget"));
        Run team = ok("teams", "create", "--id", "ml", "--alias", "ML", "--org", "acme", "--rpm", "60", "--models", "m");
        assertEquals("acme", value(team.out, "organization"));
        assertEquals("60", value(team.out, "rpm limit"));
        assertEquals("m", value(team.out, "models"));

        Run info = ok("orgs", "info", "acme");
        assertEquals("Acme Corp", value(info.out, "alias"));
        assertEquals("1", value(info.out, "teams"));
        assertEquals("1mo", value(info.out, "budget period"));
        assertTrue(TIME.matcher(value(info.out, "budget resets")).matches(), info.out);

        String key = newKey("--team", "ml");
        assertEquals(List.of(List.of("ID", "ALIAS", "ORG", "SPEND / BUDGET", "RESETS", "RPM", "TPM", "KEYS", "STATE"),
                List.of("ml", "ML", "acme", "$0.00 / -", "-", "60", "-", "1", "active")), rows(ok("teams", "list").out));
        List<List<String>> orgs = rows(ok("orgs", "list").out);
        assertEquals(List.of("ID", "ALIAS", "SPEND / BUDGET", "RESETS", "RPM", "TPM", "TEAMS", "STATE"), orgs.get(0));
        assertEquals(List.of("acme", "Acme Corp", "$0.00 / $1000.00"), orgs.get(1).subList(0, 3));
        assertEquals(List.of("-", "-", "1", "active"), orgs.get(1).subList(4, 8));

        Run refused = cli("teams", "delete", "ml");
        assertEquals(1, refused.code);
        assertEquals("nemo-router: 409 The team `ml` still has 1 key(s); delete or move them first.\n", refused.err);
        ok("keys", "delete", key);
        assertEquals("Deleted team ml.\n", ok("teams", "delete", "ml").out);
        assertEquals("No teams.\n", ok("teams", "list").out);
        assertEquals("blocked", value(ok("orgs", "update", "acme", "--block").out, "state"));
        assertEquals("Deleted organization acme.\n", ok("orgs", "delete", "acme").out);
        assertEquals("nemo-router: 404 Organization `acme` not found.\n", cli("orgs", "info", "acme").err);
    }

    @Test
    void exitCodesSayWhatWentWrong() throws Exception {
        Run noKey = cli(Map.of(), "keys", "list");
        assertEquals(2, noKey.code);
        assertEquals("", noKey.out);
        assertEquals(1, noKey.err.lines().count(), noKey.err);
        assertTrue(noKey.err.contains("set NEMO_MASTER_KEY"), noKey.err);

        Run wrongKey = cli(Map.of("NEMO_MASTER_KEY", "sk-not-the-master"), "keys", "list");
        assertEquals(1, wrongKey.code);
        assertEquals("nemo-router: 403 This admin route needs the master key; the key sent is not it.\n", wrongKey.err);

        Run unknown = cli("keys", "info", "nonexistent");
        assertEquals(1, unknown.code);
        assertEquals("", unknown.out);
        assertEquals("nemo-router: 404 Key not found.\n", unknown.err);

        Run noTeam = cli("keys", "create", "--team", "nope");
        assertEquals(1, noTeam.code);
        assertTrue(noTeam.err.startsWith("nemo-router: 400 No team `nope`"), noTeam.err);

        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Run unreachable = cli("keys", "list", "--url", "http://127.0.0.1:" + closed);
        assertEquals(3, unreachable.code, unreachable.toString());
        assertTrue(unreachable.err.startsWith("nemo-router: cannot reach the gateway at http://127.0.0.1:" + closed + " (connection refused)"),
                unreachable.err);
    }

    @Test
    void usageErrorsStopBeforeAnyRequestWithAUsageLine() {
        for (String[] args : new String[][]{{"keys", "frobnicate"}, {"widgets", "list"}, {"keys"}, {"keys", "create", "--budgte", "5"},
                {"keys", "create", "--rpm", "lots"}, {"keys", "create", "--budget", "-1"}, {"keys", "create", "--tpm", "2.5"},
                {"keys", "create", "--metadata", "{oops"}, {"keys", "info"}, {"keys", "list", "extra"}, {"keys", "create", "--alias"},
                {"keys", "list", "--url", "localhost:4000"}}) {
            Run r = cli(args);
            assertEquals(2, r.code, String.join(" ", args) + ": " + r);
            assertEquals("", r.out);
            assertTrue(r.err.startsWith("nemo-router: ") && r.err.contains("\nusage: nemo-router "), r.err);
        }
        assertTrue(cli("keys", "create", "--rpm", "lots").err.startsWith("nemo-router: --rpm must be a whole number, 1 or more, not \"lots\"\n"
                + "usage: nemo-router keys create [--alias A] [--team T] [--models a,b] [--budget USD]"));
        assertTrue(cli("keys", "create", "--budgte", "5").err.startsWith("nemo-router: unknown option --budgte for keys create\n"));
        assertTrue(cli("keys", "frobnicate").err.contains("  keys rotate KEY "), "the group's commands");
        assertEquals("No keys.\n", ok("keys", "list").out, "nothing was created");
    }

    @Test
    void helpNeedsNoMasterKey() {
        Run create = cli(Map.of(), "keys", "create", "-h");
        assertEquals(0, create.code, create.toString());
        assertTrue(create.out.startsWith("usage: nemo-router keys create [--alias A]"), create.out);
        assertTrue(create.out.contains("  --budget USD "), create.out);
        assertTrue(create.out.contains("  --json "), create.out);
        Run keys = cli(Map.of(), "keys", "--help");
        assertEquals(0, keys.code);
        assertTrue(keys.out.contains("  keys delete KEY... ") && !keys.out.contains("teams"), keys.out);
        Run all = cli(Map.of(), "-h");
        assertTrue(all.out.contains("  teams update ID ") && all.out.contains("  orgs list "), all.out);
    }

    @Test
    void theMasterKeyMayComeFromAFile() throws Exception {
        Path file = Files.createTempFile("nemo-master", ".key");
        try {
            Files.writeString(file, MASTER + "\n");
            Run r = cli(Map.of(), "keys", "list", "--master-key-file", file.toString());
            assertEquals(0, r.code, r.toString());
            assertEquals("No keys.\n", r.out);
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void moneyHasCentsAndAmountsUnderACentKeepTwoDigits() {
        assertEquals("$31.20", Formats.money(DoubleNode.valueOf(31.2)));
        assertEquals("$0.00", Formats.money(DoubleNode.valueOf(0)));
        assertEquals("$0.06", Formats.money(DoubleNode.valueOf(0.06000000000000001)));
        assertEquals("$0.0042", Formats.money(DoubleNode.valueOf(0.0042)));
        assertEquals("$0.00000012", Formats.money(DecimalNode.valueOf(new BigDecimal("1.2E-7"))));
        assertEquals("-", Formats.money(NullNode.getInstance()));
    }

    /**
     * The launcher hands {@code keys ...} to the command line. The jar is built after the tests, so
     * the test's own class path stands in for it ({@code NEMO_JAR}, which the launcher puts after -cp).
     */
    @Test
    void theLauncherRunsTheCommandLine() throws Exception {
        Path launcher = Path.of(System.getProperty("user.dir")).getParent().resolve("scripts/nemo-router");
        assumeTrue(Files.isExecutable(launcher), "no launcher at " + launcher);
        newKey("--alias", "via-launcher");
        ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "keys", "list", "--url", gw.base());
        pb.environment().put("NEMO_JAR", System.getProperty("java.class.path"));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("NEMO_MASTER_KEY", MASTER);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), err);
        assertEquals("via-launcher", rows(out).get(1).get(0), out);
    }

    @Test
    void allModelsNoTeamAndAKeyIdAreUnderstood() throws Exception {
        ok("teams", "create", "--id", "t1");
        String secret = newKey("--alias", "mover", "--team", "t1", "--models", "m");
        String id = JSON.readTree(ok("keys", "info", secret, "--json").out).path("info").path("key_id").asText();
        assertFalse(id.isEmpty());
        Run byId = ok("keys", "update", id, "--team", "none", "--models", "all");
        assertEquals("-", value(byId.out, "team"), byId.out);
        assertEquals("all", value(byId.out, "models"), byId.out);
        JsonNode info = JSON.readTree(ok("keys", "info", id, "--json").out).path("info");
        assertTrue(info.path("team_id").isNull(), info.toString());
        assertEquals(0, info.path("models").size(), info.toString());
    }
}
