package io.nemorouter.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

/**
 * {@code nemo-router keys|teams|orgs COMMAND [options]}: manages keys, teams and organizations
 * through the admin API of a running gateway ({@code --url}, else {@code NEMO_URL}, else
 * {@code http://127.0.0.1:4000}) with the master key from {@code NEMO_MASTER_KEY}, printing tables
 * and "field: value" lines, or the API's JSON with {@code --json}.
 * Exit codes: 0 done, 1 the API refused (its status and message on stderr), 2 a usage error or no
 * master key, 3 the gateway cannot be reached.
 */
public final class AdminCli {
    private static final List<Command> COMMANDS = Settings.concat(KeyCommands.all(), GroupCommands.teams(), GroupCommands.orgs());

    private AdminCli() {
    }

    public static void main(String[] args) {
        // UTF-8 whatever the locale: key names end in "…"
        PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)), false, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        int code = run(args, out, err, System.getenv());
        out.flush();
        System.exit(code);
    }

    /** Runs one command line; {@code env} stands for the environment (NEMO_MASTER_KEY, NEMO_URL). */
    public static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
        try {
            CommandLine line = CommandLine.parse(args, env, COMMANDS);
            if (line.help() != null) {
                out.println(line.help());
                return 0;
            }
            String masterKey = masterKey(line, env);
            if (masterKey == null) {
                err.println("nemo-router: set NEMO_MASTER_KEY to the gateway's master key (or give --master-key-file FILE)");
                return Failure.USAGE;
            }
            Outcome outcome = line.command().action().run(line.invocation(), new AdminClient(line.url(), masterKey));
            if (line.json()) {
                out.println(AdminClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(outcome.json()));
            } else {
                outcome.text().accept(out);
            }
            return 0;
        } catch (Failure f) {
            err.println("nemo-router: " + f.getMessage());
            if (f.usage != null) {
                err.println(f.usage);
            }
            return f.exitCode;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("nemo-router: interrupted");
            return Failure.API_ERROR;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree that cannot be written", e);
        }
    }

    /** From --master-key-file, else NEMO_MASTER_KEY; null when neither gives one. */
    private static String masterKey(CommandLine line, Map<String, String> env) throws Failure {
        String key = env.get("NEMO_MASTER_KEY");
        if (line.masterKeyFile() != null) {
            try {
                key = Files.readString(line.masterKeyFile()).strip();
            } catch (IOException e) {
                throw Failure.usage("cannot read --master-key-file " + line.masterKeyFile() + ": " + e, line.command().usage());
            }
        }
        return key == null || key.isBlank() ? null : key;
    }
}
