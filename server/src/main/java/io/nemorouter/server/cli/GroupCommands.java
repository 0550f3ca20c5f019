package io.nemorouter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.nemorouter.server.cli.Formats.state;
import static io.nemorouter.server.cli.Formats.text;

/**
 * {@code teams create|list|info|update|delete} and {@code orgs ...}: the same commands over the API's
 * {@code /team} and {@code /organization} routes, whose members differ only by that word, and how a
 * team or an organization is shown.
 */
final class GroupCommands {
    /** The command's word: {@code teams} or {@code orgs}. */
    private final String word;
    /** The API's word, which messages use too: {@code team} or {@code organization}. */
    private final String noun;
    /** What one holds, counted in its view: {@code keys} (a team's) or {@code teams} (an organization's). */
    private final String holds;
    /** Whether it belongs to an organization (a team does). */
    private final boolean inOrg;

    private GroupCommands(String word, String noun, String holds, boolean inOrg) {
        this.word = word;
        this.noun = noun;
        this.holds = holds;
        this.inOrg = inOrg;
    }

    static List<Command> teams() {
        return new GroupCommands("teams", "team", "keys", true).commands();
    }

    static List<Command> orgs() {
        return new GroupCommands("orgs", "organization", "teams", false).commands();
    }

    private List<Command> commands() {
        List<Option> own = new ArrayList<>(List.of(Option.text("--alias", "A", noun + "_alias", "a name people know the " + noun + " by")));
        if (inOrg) {
            own.add(Option.text("--org", "O", "organization_id", "the organization it belongs to (whose limits apply too)"));
        }
        List<Option> settings = Settings.concat(own, Settings.OPTIONS);
        Option id = Option.text("--id", "ID", idMember(), "its id (default: a random one)");
        return List.of(
                new Command(word, "create", "", Settings.concat(List.of(id), settings), "Creates " + aNoun() + ".", this::create),
                new Command(word, "list", "", List.of(), "Lists the " + plural() + " (every page).", this::list),
                new Command(word, "info", "ID", List.of(), "Shows " + aNoun() + "'s settings and spend.", this::info),
                new Command(word, "update", "ID", Settings.concat(settings, Settings.BLOCKING),
                        "Changes " + aNoun() + "'s settings." + Settings.UPDATE_NOTE, this::update),
                new Command(word, "delete", "ID...", List.of(), "Deletes " + plural() + " that hold no " + holds + ".", this::delete));
    }

    private Outcome create(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        JsonNode answer = api.post("/" + noun + "/new", inv.fields());
        return Outcome.details(answer, answer, this::lines);
    }

    private Outcome list(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        List<String> headers = Settings.concat(inOrg ? List.of("ID", "ALIAS", "ORG") : List.of("ID", "ALIAS"),
                Settings.LIMIT_HEADERS, List.of(holds.toUpperCase(Locale.ROOT), "STATE"));
        return Outcome.table(api.listAll("/" + noun + "/list", Map.of(), "data"), "data", plural(), headers, g -> {
            List<String> row = new ArrayList<>(List.of(text(g.get(idMember())), text(g.get(noun + "_alias"))));
            if (inOrg) {
                row.add(text(g.get("organization_id")));
            }
            row.addAll(Settings.limitCells(g));
            row.add(text(g.get(holds)));
            row.add(state(g));
            return row;
        });
    }

    private Outcome info(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        JsonNode answer = api.get("/" + noun + "/info", Map.of(idMember(), inv.operand(0)));
        return Outcome.details(answer, answer, this::lines);
    }

    private Outcome update(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        ObjectNode body = inv.fields().deepCopy();
        body.put(idMember(), inv.operand(0));
        JsonNode answer = api.post("/" + noun + "/update", body);
        return Outcome.details(answer, answer, this::lines);
    }

    private Outcome delete(Invocation inv, AdminClient api) throws Failure, InterruptedException {
        ObjectNode body = AdminClient.JSON.createObjectNode();
        ArrayNode ids = body.putArray(idMember() + "s");
        inv.operands().forEach(ids::add);
        JsonNode answer = api.post("/" + noun + "/delete", body);
        List<String> deleted = new ArrayList<>();
        answer.path("deleted_" + plural()).forEach(d -> deleted.add(d.asText()));
        return Outcome.line(answer, "Deleted " + (deleted.size() == 1 ? noun : plural()) + " " + String.join(", ", deleted) + ".");
    }

    private Table lines(JsonNode view) {
        Table t = new Table().row("id:", text(view.get(idMember()))).row("alias:", text(view.get(noun + "_alias")));
        if (inOrg) {
            t.row("organization:", text(view.get("organization_id")));
        }
        Settings.limitLines(t, view);
        t.row(holds + ":", text(view.get(holds)));
        Settings.closingLines(t, view);
        return t;
    }

    private String idMember() {
        return noun + "_id";
    }

    /** "a team", "an organization". */
    private String aNoun() {
        return ("aeiou".indexOf(noun.charAt(0)) >= 0 ? "an " : "a ") + noun;
    }

    private String plural() {
        return noun + "s";
    }
}
