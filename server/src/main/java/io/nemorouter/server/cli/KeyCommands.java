package io.nemorouter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.filters.keys.store.Secrets;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static io.nemorouter.server.cli.Formats.shortToken;
import static io.nemorouter.server.cli.Formats.state;
import static io.nemorouter.server.cli.Formats.text;
import static io.nemorouter.server.cli.Formats.time;

/**
 * {@code keys create|list|info|update|rotate|block|unblock|delete}, and how a key is shown. A key is
 * named by its secret, its token, or the start of its token as {@code keys list} shows it.
 */
final class KeyCommands {
    private static final Option TEAM = Option.clearableText("--team", "T", "team_id",
            "the team it belongs to (whose limits apply too); none: no team");
    private static final List<Option> SETTINGS = Settings.concat(
            List.of(Option.text("--alias", "A", "key_alias", "a name people know the key by"), TEAM),
            Settings.OPTIONS,
            List.of(Option.list("--tags", "tags", "tags kept with the key"),
                    Option.duration("--expires-in", "duration", "how long it works from now: 1h, 30d, 1mo")));
    private static final List<String> HEADERS = Settings.concat(List.of("ALIAS", "TOKEN", "NAME", "TEAM"), Settings.LIMIT_HEADERS, List.of("STATE"));
    /** A key's token: the SHA-256 of its secret in lower-case hex. */
    private static final Pattern WHOLE_TOKEN = Pattern.compile("[0-9a-f]{64}");
    /** The start of a token, as typed to name a key. */
    private static final Pattern TOKEN_START = Pattern.compile("[0-9a-f]{4,63}");

    private KeyCommands() {
    }

    static List<Command> all() {
        return List.of(
                new Command("keys", "create", "", SETTINGS,
                        "Creates a key and prints its secret: the only time the secret is shown.", KeyCommands::create),
                new Command("keys", "list", "", List.of(Option.text("--team", "T", "team_id", "only the keys of this team")),
                        "Lists the keys (every page).", KeyCommands::list),
                new Command("keys", "info", "KEY", List.of(), "Shows a key's settings and spend.", KeyCommands::info),
                new Command("keys", "update", "KEY", Settings.concat(SETTINGS, Settings.BLOCKING),
                        "Changes a key's settings." + Settings.UPDATE_NOTE, KeyCommands::update),
                new Command("keys", "rotate", "KEY", List.of(),
                        "Gives a key a new secret, printed once; the old one stops working. Settings and spend stay.", KeyCommands::rotate),
                new Command("keys", "block", "KEY", List.of(), "Refuses a key's requests (403) until it is unblocked.",
                        (inv, api) -> setBlocked(inv, api, true)),
                new Command("keys", "unblock", "KEY", List.of(), "Accepts a blocked key's requests again.",
                        (inv, api) -> setBlocked(inv, api, false)),
                new Command("keys", "delete", "KEY...", List.of(), "Deletes keys; an unknown one stops the lot.", KeyCommands::delete));
    }

    private static Outcome create(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        return withSecret(api.post("/key/generate", inv.fields()), "The key's secret, shown only now (the gateway keeps only its hash):");
    }

    private static Outcome list(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        JsonNode team = inv.fields().get("team_id");
        JsonNode all = api.listAll("/key/list", team == null ? Map.of() : Map.of("team_id", team.asText()), "keys");
        return Outcome.table(all, "keys", "keys", HEADERS, k -> Settings.concat(
                List.of(text(k.get("key_alias")), shortToken(k.get("token")), text(k.get("key_name")), text(k.get("team_id"))),
                Settings.limitCells(k), List.of(state(k))));
    }

    private static Outcome info(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        JsonNode answer = api.get("/key/info", Map.of("key", keyOf(api, inv.operand(0))));
        return Outcome.details(answer, answer.path("info"), KeyCommands::lines);
    }

    private static Outcome update(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        ObjectNode body = inv.fields().deepCopy();
        body.put("key", keyOf(api, inv.operand(0)));
        JsonNode answer = api.post("/key/update", body);
        return Outcome.details(answer, answer, KeyCommands::lines);
    }

    private static Outcome rotate(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        return withSecret(api.post("/key/regenerate", keyBody(api, inv)), "The key's new secret, shown only now (the old one no longer works):");
    }

    private static Outcome setBlocked(Invocation inv, AdminClient api, boolean blocked) throws Failure, InterruptedException {
        JsonNode answer = api.post(blocked ? "/key/block" : "/key/unblock", keyBody(api, inv));
        return Outcome.line(answer, (blocked ? "Blocked" : "Unblocked") + " key " + name(answer) + ".");
    }

    private static Outcome delete(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        ObjectNode body = AdminClient.JSON.createObjectNode();
        ArrayNode keys = body.putArray("keys");
        for (String typed : inv.operands()) {
            keys.add(keyOf(api, typed));
        }
        JsonNode answer = api.post("/key/delete", body);
        List<String> tokens = new ArrayList<>();
        answer.path("deleted_keys").forEach(t -> tokens.add(shortToken(t)));
        return Outcome.line(answer, "Deleted " + tokens.size() + (tokens.size() == 1 ? " key: " : " keys: ") + String.join(", ", tokens) + ".");
    }

    /** The secret once, set apart so it is easy to copy, then the key's settings. */
    private static Outcome withSecret(JsonNode answer, String heading) {
        return new Outcome(answer, out -> {
            out.println(heading);
            out.println();
            out.println("    " + answer.path("key").asText());
            out.println();
            out.print(lines(answer));
        });
    }

    private static Table lines(JsonNode key) {
        Table t = new Table()
                .row("alias:", text(key.get("key_alias")))
                .row("token:", text(key.get("token")))
                .row("name:", text(key.get("key_name")))
                .row("id:", text(key.get("key_id")))
                .row("team:", text(key.get("team_id")))
                .row("organization:", text(key.get("organization_id")));
        Settings.limitLines(t, key);
        t.row("tags:", Formats.list(key.get("tags"), Formats.UNSET))
                .row("expires:", key.path("expires").isNull() ? "never" : time(key.get("expires")));
        Settings.closingLines(t, key);
        return t;
    }

    /** "ci (1a2b3c4d)": the alias, else the secret's visible start, and the token's. */
    private static String name(JsonNode key) {
        JsonNode alias = key.get("key_alias");
        return text(alias == null || alias.isNull() ? key.get("key_name") : alias) + " (" + shortToken(key.get("token")) + ")";
    }

    private static ObjectNode keyBody(AdminClient api, Invocation inv) throws Failure, InterruptedException {
        return AdminClient.JSON.createObjectNode().put("key", keyOf(api, inv.operand(0)));
    }

    /**
     * The token that names a key to the API. A whole token goes as typed; the start of a token, as
     * {@code keys list} shows it, becomes the whole token of the one key whose token starts so (none:
     * as typed, for the API to answer 404); a secret ({@code sk-...}) goes as its token, so a secret
     * never travels (GET /key/info would carry it in the URL, where proxies log it); anything else
     * (a {@code key_id}, which outlives rotations) goes as typed.
     */
    private static String keyOf(AdminClient api, String typed) throws Failure, InterruptedException {
        if (WHOLE_TOKEN.matcher(typed).matches()) {
            return typed;
        }
        if (typed.startsWith("sk-")) {
            return Secrets.hash(typed);
        }
        if (!TOKEN_START.matcher(typed).matches()) {
            return typed;
        }
        List<String> matches = new ArrayList<>();
        for (JsonNode k : api.listAll("/key/list", Map.of(), "keys").path("keys")) {
            if (k.path("token").asText().startsWith(typed)) {
                matches.add(k.path("token").asText());
            }
        }
        if (matches.size() > 1) {
            throw Failure.unusable(typed + " starts the tokens of " + matches.size() + " keys; give more of the token");
        }
        return matches.isEmpty() ? typed : matches.get(0);
    }
}
