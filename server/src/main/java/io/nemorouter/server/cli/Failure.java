package io.nemorouter.server.cli;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.channels.UnresolvedAddressException;

/** Why a command stopped: the line for stderr (and a usage line, for a usage error) and the exit code. */
final class Failure extends Exception {
    static final int API_ERROR = 1;
    static final int USAGE = 2;
    static final int UNREACHABLE = 3;

    final int exitCode;
    /** The command's usage, printed under the message; null when the command line was not at fault. */
    final String usage;

    private Failure(int exitCode, String message, String usage) {
        super(message, null, false, false);
        this.exitCode = exitCode;
        this.usage = usage;
    }

    /** The command line cannot be run as written: an unknown command or option, a bad number, a missing operand. */
    static Failure usage(String message, String usage) {
        return new Failure(USAGE, message, usage);
    }

    /** The gateway answered, and refused: {@code status} and its message. */
    static Failure api(int status, String message) {
        return new Failure(API_ERROR, status + " " + message, null);
    }

    /** The answer could not be used: not the admin API, or an ambiguous choice of key. */
    static Failure unusable(String message) {
        return new Failure(API_ERROR, message, null);
    }

    static Failure unreachable(String url, IOException cause) {
        return new Failure(UNREACHABLE, "cannot reach the gateway at " + url + " (" + why(cause) + "); is it running? "
                + "Point --url or NEMO_URL at it.", null);
    }

    /** The HTTP client's exceptions mostly carry no message: a refused connection is a ConnectException with none. */
    private static String why(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnresolvedAddressException) {
                return "unknown host";
            }
            if (t.getMessage() != null) {
                return t.getMessage();
            }
        }
        return e instanceof ConnectException ? "connection refused" : e.getClass().getSimpleName();
    }
}
