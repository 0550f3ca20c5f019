package io.nemorouter.core.internal.http1;

import io.nemorouter.core.internal.http1.HeadBytes;
import io.nemorouter.core.internal.http1.PassthroughAnswer;
import io.nemorouter.core.internal.http1.WireBytes;
import io.netty.buffer.ByteBuf;

import static io.nemorouter.core.internal.http1.HttpBytes.CONTENT_LENGTH;
import static io.nemorouter.core.internal.http1.HttpBytes.TRANSFER_ENCODING;
import static io.nemorouter.core.internal.http1.HttpBytes.ascii;
import static io.nemorouter.core.internal.http1.HttpBytes.containsIgnoreCase;
import static io.nemorouter.core.internal.http1.HttpBytes.headerColon;
import static io.nemorouter.core.internal.http1.HttpBytes.lineEnd;
import static io.nemorouter.core.internal.http1.HttpBytes.nameIs;
import static io.nemorouter.core.internal.http1.HttpBytes.number;
import static io.nemorouter.core.internal.http1.HttpBytes.regionIs;
import static io.nemorouter.core.internal.http1.HttpBytes.skipSpaces;
import static io.nemorouter.core.internal.http1.HttpBytes.startsWithIgnoreCase;
import static io.nemorouter.core.internal.http1.HttpBytes.trimSpaces;

/**
 * An upstream answer that arrived whole in one read, in its own bytes: the common case of a
 * non-streaming answer over a keep-alive connection (a few hundred bytes to a few KiB).
 * {@link #parse} reads the status and the few headers the gateway acts on in one pass and notes
 * which header lines go to the client as they are, so the client's answer is written by copying
 * byte ranges instead of building and re-encoding a header map.
 *
 * <p>Only the plain shape is accepted: {@code HTTP/1.x}, a final status with a body, one
 * {@code content-length}, no {@code transfer-encoding}, no folded lines, not an event stream, and
 * exactly the buffer's bytes. Anything else is left to Netty's decoder, which handles every case
 * (and every error); this class only has to be right about what it accepts.
 *
 * <p>One per upstream connection, reused: an answer is consumed synchronously in the read that
 * parsed it. Event-loop confined.
 */
public final class WholeAnswer implements PassthroughAnswer {
    /** Header lines not copied: hop-by-hop ones, the length (set anew), and what the gateway sets itself. */
    private static final byte[][] DROPPED = lower(HopByHop.ANSWER_HEADERS, "content-length", "x-request-id", "x-nemo-model",
            "x-nemo-cache", "x-nemo-fallbacks", "x-nemo-response-cost", "x-nemo-overhead-ms");
    private static final byte[] CONTENT_TYPE = ascii("content-type");
    private static final byte[] CONNECTION = ascii("connection");
    private static final byte[] EVENT_STREAM = ascii("text/event-stream");
    private static final byte[] CLOSE = ascii("close");
    private static final byte[] KEEP_ALIVE = ascii("keep-alive");
    private static final int MAX_HEAD_BYTES = 64 * 1024;

    /** The whole answer; owned by this object between a successful parse and {@link #release}. */
    ByteBuf buf;
    /** Its head, copied: what the client's head is written from. */
    final HeadBytes head = new HeadBytes();
    int status;
    /** Where the status code starts and the status line ends (before its CRLF) in {@link #head}. */
    int statusStart;
    int statusEnd;
    /** Start and end (CRLF included) in {@link #head} of each header line that goes to the client, in pairs. */
    int[] kept = new int[32];
    int keptCount;
    /** Where the body starts in {@link #buf}. */
    int bodyStart;
    int contentLength;
    boolean keepAlive;

    /**
     * Whether {@code in} holds exactly one plain answer with a body of at most {@code maxBody}
     * bytes. On true this object refers to {@code in} (the caller hands its reference over with
     * it); on false nothing was kept and {@code in} is untouched.
     */
    public boolean parse(ByteBuf in, long maxBody) {
        if (!head.read(in, MAX_HEAD_BYTES)) {
            return false; // the head is not all here (or too large)
        }
        byte[] b = head.bytes;
        int end = head.length;
        // "HTTP/1.1 200 OK\r\n": version, space, three digits, then a space or the line's end
        if (end < 14 || !regionIs(b, 0, "HTTP/1.") || b[8] != ' ') {
            return false;
        }
        byte minor = b[7];
        if (minor != '0' && minor != '1') {
            return false;
        }
        int code = digit(b[9]) * 100 + digit(b[10]) * 10 + digit(b[11]);
        if (code < 200 || code > 599 || code == 204 || code == 304) {
            return false; // 1xx, no-body statuses and garbage go the general way
        }
        int lineEnd = lineEnd(b, 12, end);
        if (lineEnd < 0 || (lineEnd > 12 && b[12] != ' ')) {
            return false;
        }
        boolean http11 = minor == '1';
        boolean closeAsked = false;
        boolean keepAliveAsked = false;
        long length = -1;
        keptCount = 0;
        int pos = lineEnd + 2;
        while (true) {
            int eol = lineEnd(b, pos, end);
            if (eol < 0) {
                return false;
            }
            if (eol == pos) {
                pos += 2;
                break; // the empty line: end of the head
            }
            int colon = headerColon(b, pos, eol);
            if (colon < 0) {
                return false;
            }
            int nameLength = colon - pos;
            int valueStart = skipSpaces(b, colon + 1, eol);
            int valueEnd = trimSpaces(b, valueStart, eol);
            if (nameIs(b, pos, nameLength, TRANSFER_ENCODING)) {
                return false;
            } else if (nameIs(b, pos, nameLength, CONTENT_LENGTH)) {
                if (length >= 0) {
                    return false; // more than one: let the decoder judge
                }
                length = number(b, valueStart, valueEnd);
                if (length < 0) {
                    return false;
                }
            } else if (nameIs(b, pos, nameLength, CONTENT_TYPE) && startsWithIgnoreCase(b, valueStart, valueEnd, EVENT_STREAM)) {
                return false;
            } else if (nameIs(b, pos, nameLength, CONNECTION)) {
                closeAsked |= containsIgnoreCase(b, valueStart, valueEnd, CLOSE);
                keepAliveAsked |= containsIgnoreCase(b, valueStart, valueEnd, KEEP_ALIVE);
            }
            if (!dropped(b, pos, nameLength)) {
                keep(pos, eol + 2);
            }
            pos = eol + 2;
        }
        if (length < 0 || length > maxBody || in.readableBytes() - pos != length) {
            return false; // no length, too large to hold, or not exactly the bytes of this read
        }
        this.buf = in;
        this.status = code;
        this.statusStart = 9;
        this.statusEnd = lineEnd;
        this.bodyStart = in.readerIndex() + pos;
        this.contentLength = (int) length;
        this.keepAlive = !closeAsked && (http11 || keepAliveAsked);
        return true;
    }

    @Override
    public int status() {
        return status;
    }

    @Override
    public void writeStatus(WireBytes out) {
        out.put(head.bytes, statusStart, statusEnd - statusStart);
    }

    @Override
    public void writeHeaderLines(WireBytes out) {
        for (int i = 0; i < keptCount * 2; i += 2) {
            out.put(head.bytes, kept[i], kept[i + 1] - kept[i]);
        }
    }

    @Override
    public void writeHeaderLines(WireBytes out, java.util.List<? extends CharSequence> except) {
        byte[] b = head.bytes;
        for (int i = 0; i < keptCount * 2; i += 2) {
            int from = kept[i];
            int nameLength = headerColon(b, from, kept[i + 1] - 2) - from;
            if (!named(b, from, nameLength, except)) {
                out.put(b, from, kept[i + 1] - from);
            }
        }
    }

    /** Whether the name at {@code from} is one of {@code names} (lower case, as the exchange keeps them), any case. */
    private static boolean named(byte[] b, int from, int length, java.util.List<? extends CharSequence> names) {
        outer:
        for (int k = 0; k < names.size(); k++) {
            CharSequence name = names.get(k);
            if (name.length() != length) {
                continue;
            }
            for (int i = 0; i < length; i++) {
                int c = b[from + i];
                if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != name.charAt(i)) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    @Override
    public int headBytes() {
        return head.length - statusStart;
    }

    @Override
    public ByteBuf body() {
        return buf.slice(bodyStart, contentLength);
    }

    /** Whether the upstream keeps the connection open after this answer. */
    public boolean keepAlive() {
        return keepAlive;
    }

    /**
     * The value of a header line that goes to the client ({@code retry-after}, say), or null.
     * Reads the lines again: for the rare answer that needs it, not for every one.
     */
    @Override
    public String header(String lowerName) {
        byte[] name = ascii(lowerName);
        byte[] b = head.bytes;
        for (int i = 0; i < keptCount * 2; i += 2) {
            int from = kept[i];
            int eol = kept[i + 1] - 2;
            int colon = headerColon(b, from, eol);
            if (colon - from == name.length && nameIs(b, from, name.length, name)) {
                int valueStart = skipSpaces(b, colon + 1, eol);
                return new String(b, valueStart, trimSpaces(b, valueStart, eol) - valueStart, java.nio.charset.StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    /** Releases the answer's buffer; the object is ready for the next answer. */
    public void release() {
        if (buf != null) {
            buf.release();
            buf = null;
        }
    }

    private void keep(int from, int to) {
        if (keptCount * 2 == kept.length) {
            kept = java.util.Arrays.copyOf(kept, kept.length * 2);
        }
        kept[keptCount * 2] = from;
        kept[keptCount * 2 + 1] = to;
        keptCount++;
    }

    private static int digit(byte c) {
        int d = c - '0';
        return d >= 0 && d <= 9 ? d : -1000;
    }

    private static boolean dropped(byte[] b, int at, int length) {
        for (byte[] name : DROPPED) {
            if (nameIs(b, at, length, name)) {
                return true;
            }
        }
        return false;
    }

    private static byte[][] lower(String[] names, String... more) {
        byte[][] out = new byte[names.length + more.length][];
        for (int i = 0; i < out.length; i++) {
            out[i] = ascii(i < names.length ? names[i] : more[i - names.length]);
        }
        return out;
    }
}
