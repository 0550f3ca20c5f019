package io.nemorouter.server.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What was typed, read against the commands: the options every command takes ({@code --url},
 * {@code --json}, {@code --master-key-file}, {@code -h}), anywhere on the line; then the command's
 * two words, its operands and its own options. Either a command to run or a help text to print.
 */
record CommandLine(String url, boolean json, Path masterKeyFile, Command command, Invocation invocation, String help) {
    static final String DEFAULT_URL = "http://127.0.0.1:4000";
    static final List<String[]> GLOBAL_OPTIONS = List.of(
            new String[]{"  --url URL", "the gateway (default: $NEMO_URL, else " + DEFAULT_URL + ")"},
            new String[]{"  --json", "print the API's JSON answer instead of a table"},
            new String[]{"  --master-key-file FILE", "read the master key from FILE instead of $NEMO_MASTER_KEY"},
            new String[]{"  -h, --help", "this help"});

    static CommandLine parse(String[] args, Map<String, String> env, List<Command> commands) throws Failure {
        String url = env.get("NEMO_URL") == null || env.get("NEMO_URL").isBlank() ? DEFAULT_URL : env.get("NEMO_URL");
        boolean json = false;
        boolean help = false;
        Path masterKeyFile = null;
        List<String> words = List.of(args);
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < words.size(); i++) {
            switch (words.get(i)) {
                case "--url" -> url = value(words, ++i, "--url", overview(commands, null));
                case "--json" -> json = true;
                case "--master-key-file" -> masterKeyFile = Path.of(value(words, ++i, "--master-key-file", overview(commands, null)));
                case "-h", "--help" -> help = true;
                default -> rest.add(words.get(i));
            }
        }
        String group = rest.isEmpty() ? null : rest.get(0);
        if (group == null || commands.stream().noneMatch(c -> c.group().equals(group))) {
            if (help && group == null) {
                return helpOnly(overview(commands, null));
            }
            throw Failure.usage(group == null ? "which command?" : "unknown command \"" + group + "\"", overview(commands, null));
        }
        String verb = rest.size() < 2 ? null : rest.get(1);
        Command command = commands.stream().filter(c -> c.group().equals(group) && c.verb().equals(verb)).findFirst().orElse(null);
        if (command == null) {
            if (help && verb == null) {
                return helpOnly(overview(commands, group));
            }
            throw Failure.usage(verb == null ? group + " needs a command" : "unknown command \"" + group + " " + verb + "\"",
                    overview(commands, group));
        }
        if (help) {
            return helpOnly(command.help());
        }
        return new CommandLine(checkedUrl(url, command), json, masterKeyFile, command,
                invocation(command, rest.subList(2, rest.size())), null);
    }

    private static Invocation invocation(Command command, List<String> words) throws Failure {
        List<String> operands = new ArrayList<>();
        ObjectNode fields = JsonNodeFactory.instance.objectNode();
        for (int i = 0; i < words.size(); i++) {
            String word = words.get(i);
            if (!word.startsWith("-") || word.length() == 1) {
                operands.add(word);
                continue;
            }
            Option option = command.option(word);
            if (option == null) {
                throw Failure.usage("unknown option " + word + " for " + command.group() + " " + command.verb(), command.usage());
            }
            String typed = option.isFlag() ? null : value(words, ++i, word, command.usage());
            try {
                fields.set(option.member(), option.value().read(typed));
            } catch (IllegalArgumentException e) {
                throw Failure.usage(word + " " + e.getMessage() + ", not \"" + typed + "\"", command.usage());
            }
        }
        if (operands.size() < command.minOperands() || operands.size() > command.maxOperands()) {
            throw Failure.usage(command.group() + " " + command.verb()
                    + (command.operands().isEmpty() ? " takes no operands" : " takes " + command.operands()), command.usage());
        }
        return new Invocation(List.copyOf(operands), fields);
    }

    private static String value(List<String> words, int i, String option, String usage) throws Failure {
        if (i >= words.size()) {
            throw Failure.usage(option + " needs a value", usage);
        }
        return words.get(i);
    }

    /** The gateway's address, without a trailing slash; it must be an http or https URL. */
    private static String checkedUrl(String url, Command command) throws Failure {
        String trimmed = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        try {
            URI u = new URI(trimmed);
            if (("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && u.getHost() != null) {
                return trimmed;
            }
        } catch (java.net.URISyntaxException e) {
            // said below
        }
        throw Failure.usage("--url must be like " + DEFAULT_URL + ", not \"" + url + "\"", command.usage());
    }

    private static CommandLine helpOnly(String text) {
        return new CommandLine(null, false, null, null, null, text);
    }

    /** Every command of {@code group} (of all groups when null), a line each. */
    private static String overview(List<Command> commands, String group) {
        Table t = new Table();
        for (Command c : commands) {
            if (group == null || c.group().equals(group)) {
                t.row("  " + c.group() + " " + c.verb() + (c.operands().isEmpty() ? "" : " " + c.operands()), c.summary());
            }
        }
        return "usage: nemo-router " + (group == null ? "keys|teams|orgs" : group) + " COMMAND [options]"
                + " (-h after a command lists its options)\n\n" + t
                + "\nThe master key comes from NEMO_MASTER_KEY; the gateway from --url or NEMO_URL (default " + DEFAULT_URL + ").";
    }
}
