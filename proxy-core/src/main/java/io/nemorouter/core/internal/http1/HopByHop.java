package io.nemorouter.core.internal.http1;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * The headers of an upstream answer that describe the upstream connection, not the answer
 * (RFC 9110, 7.6.1), and so never reach the client, whichever way the answer is read. One list
 * for both ways, so that a whole answer and one decoded in pieces reach the client the same.
 * {@code transfer-encoding} is not here: the codec and the length the gateway sets deal with it.
 */
public final class HopByHop {
    static final String[] ANSWER_HEADERS = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
            "upgrade", "trailer"};
    private static final AsciiString[] NAMES = new AsciiString[ANSWER_HEADERS.length];

    static {
        for (int i = 0; i < NAMES.length; i++) {
            NAMES[i] = AsciiString.cached(ANSWER_HEADERS[i]);
        }
    }

    private HopByHop() {
    }

    public static boolean isAnswerHeader(CharSequence name) {
        for (AsciiString n : NAMES) {
            if (n.length() == name.length() && n.contentEqualsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** Removes them all from a decoded head; a head without any (the usual case) is only read. */
    public static void removeFrom(HttpHeaders h) {
        for (var it = h.iteratorCharSequence(); it.hasNext(); ) {
            if (isAnswerHeader(it.next().getKey())) {
                for (AsciiString n : NAMES) {
                    h.remove(n);
                }
                return;
            }
        }
    }
}
