package io.nemorouter.server.cli;

import java.util.List;

/**
 * One command, such as {@code keys create}: its operands, its options and what it does.
 *
 * @param operands what follows the words: "" for nothing, {@code KEY} for exactly one, {@code KEY...} for one or more
 */
record Command(String group, String verb, String operands, List<Option> options, String summary, Action action) {
    /** Runs the command against the admin API. */
    interface Action {
        Outcome run(Invocation invocation, AdminClient api) throws Failure, InterruptedException;
    }

    int minOperands() {
        return operands.isEmpty() ? 0 : 1;
    }

    int maxOperands() {
        return operands.isEmpty() ? 0 : operands.endsWith("...") ? Integer.MAX_VALUE : 1;
    }

    Option option(String name) {
        for (Option o : options) {
            if (o.name().equals(name)) {
                return o;
            }
        }
        return null;
    }

    String usage() {
        StringBuilder b = new StringBuilder("usage: nemo-router ").append(group).append(' ').append(verb);
        if (!operands.isEmpty()) {
            b.append(' ').append(operands);
        }
        for (Option o : options) {
            b.append(' ').append(o.synopsis());
        }
        return b.append(" [--json] [--url URL]").toString();
    }

    /** The usage line, what the command does, and a line for each option (those of every command last). */
    String help() {
        Table t = new Table();
        for (Option o : options) {
            t.row("  " + o.name() + (o.isFlag() ? "" : " " + o.valueName()), o.help());
        }
        CommandLine.GLOBAL_OPTIONS.forEach(t::row);
        return usage() + "\n" + summary + "\n\n" + t.toString().stripTrailing();
    }
}
