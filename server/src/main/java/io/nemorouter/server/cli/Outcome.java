package io.nemorouter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintStream;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/** What a command answers: the API's JSON (for {@code --json}) and how to show it to a person. */
record Outcome(JsonNode json, Consumer<PrintStream> text) {
    /** One line, such as "Blocked key ci (1a2b3c4d)." */
    static Outcome line(JsonNode json, String line) {
        return new Outcome(json, out -> out.println(line));
    }

    /** "field: value" lines, as {@code lines} writes them for {@code view}. */
    static Outcome details(JsonNode json, JsonNode view, Function<JsonNode, Table> lines) {
        return new Outcome(json, out -> out.print(lines.apply(view)));
    }

    /** The items of a list answer ({@code json.member}) as a table, a row each; "No keys." (the plural given) for none. */
    static Outcome table(JsonNode json, String member, String plural, List<String> headers, Function<JsonNode, List<String>> row) {
        return new Outcome(json, out -> {
            JsonNode items = json.path(member);
            if (items.isEmpty()) {
                out.println("No " + plural + ".");
                return;
            }
            Table t = new Table().row(headers);
            items.forEach(item -> t.row(row.apply(item)));
            out.print(t);
        });
    }
}
