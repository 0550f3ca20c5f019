package io.nemorouter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

import static io.nemorouter.server.cli.Formats.list;
import static io.nemorouter.server.cli.Formats.money;
import static io.nemorouter.server.cli.Formats.object;
import static io.nemorouter.server.cli.Formats.spendOfBudget;
import static io.nemorouter.server.cli.Formats.state;
import static io.nemorouter.server.cli.Formats.text;
import static io.nemorouter.server.cli.Formats.time;

/** What keys, teams and organizations have alike (models, limits, metadata, blocking), as options and as output. */
final class Settings {
    /** The options of create and update that set them. */
    static final List<Option> OPTIONS = List.of(
            Option.list("--models", "models", "the models it may call (default, or all: every model)"),
            Option.usd("--budget", "max_budget", "its budget in US dollars"),
            Option.duration("--budget-duration", "budget_duration", "how often the budget starts again: 30m, 1h, 1d, 7d, 30d, 1mo"),
            Option.count("--rpm", "rpm_limit", "requests per minute"),
            Option.count("--tpm", "tpm_limit", "tokens per minute"),
            Option.count("--parallel", "max_parallel_requests", "requests at once"),
            Option.json("--metadata", "metadata", "a JSON object kept with it"));
    /** The options of update only. */
    static final List<Option> BLOCKING = List.of(
            Option.flag("--block", "blocked", true, "refuse its requests (403) until unblocked"),
            Option.flag("--unblock", "blocked", false, "accept its requests again"));
    static final String UPDATE_NOTE = " Only what is given changes; a limit given as none is removed.";
    /** The list columns of the limits, in the order of {@link #limitCells}. */
    static final List<String> LIMIT_HEADERS = List.of("SPEND / BUDGET", "RESETS", "RPM", "TPM");

    private Settings() {
    }

    static List<String> limitCells(JsonNode view) {
        return List.of(spendOfBudget(view), time(view.get("budget_reset_at")), text(view.get("rpm_limit")), text(view.get("tpm_limit")));
    }

    /** The models and limits, a "field: value" line each, with what has been spent. */
    static void limitLines(Table t, JsonNode view) {
        t.row("models:", list(view.get("models"), "all"))
                .row("spend / budget:", spendOfBudget(view))
                .row("budget period:", text(view.get("budget_duration")))
                .row("budget resets:", time(view.get("budget_reset_at")))
                .row("total spend:", money(view.get("total_spend")))
                .row("rpm limit:", text(view.get("rpm_limit")))
                .row("tpm limit:", text(view.get("tpm_limit")))
                .row("parallel limit:", text(view.get("max_parallel_requests")))
                .row("in flight:", text(view.get("requests_in_flight")));
    }

    /** The lines every view ends with. */
    static void closingLines(Table t, JsonNode view) {
        t.row("metadata:", object(view.get("metadata")))
                .row("state:", state(view))
                .row("created:", time(view.get("created_at")))
                .row("updated:", time(view.get("updated_at")));
    }

    @SafeVarargs
    static <T> List<T> concat(List<? extends T>... lists) {
        List<T> out = new ArrayList<>();
        for (List<? extends T> l : lists) {
            out.addAll(l);
        }
        return out;
    }
}
