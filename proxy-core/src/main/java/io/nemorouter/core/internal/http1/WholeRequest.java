package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.FastThreadLocal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static io.nemorouter.core.internal.http1.HttpBytes.CONTENT_LENGTH;
import static io.nemorouter.core.internal.http1.HttpBytes.TRANSFER_ENCODING;
import static io.nemorouter.core.internal.http1.HttpBytes.ascii;
import static io.nemorouter.core.internal.http1.HttpBytes.headerColon;
import static io.nemorouter.core.internal.http1.HttpBytes.lineEnd;
import static io.nemorouter.core.internal.http1.HttpBytes.nameIs;
import static io.nemorouter.core.internal.http1.HttpBytes.number;
import static io.nemorouter.core.internal.http1.HttpBytes.regionIs;
import static io.nemorouter.core.internal.http1.HttpBytes.skipSpaces;
import static io.nemorouter.core.internal.http1.HttpBytes.trimSpaces;

/**
 * A client request that arrived whole in one read, turned into the {@link FullHttpRequest} that
 * Netty's decoder and aggregator would have made, in one pass: what an SDK sends on a keep-alive
 * connection (a GET, or a POST with a JSON body of known length) nearly always looks like that.
 *
 * <p>Only the plain shape is accepted: {@code GET} or {@code POST}, {@code HTTP/1.x}, headers
 * of visible text, at most one {@code content-length}, no {@code transfer-encoding} or
 * {@code expect}, within the configured limits, and exactly the bytes of the read. Everything
 * else (pipelined, split, chunked or invalid requests, and every error answer) is left to Netty's
 * decoder, so this class only has to be right about what it accepts.
 */
public final class WholeRequest {
    private static final byte[] EXPECT = ascii("expect");
    /** The line the aggregator's {@code content-length: 0} would be; CRLF-less, as spans end before it. */
    private static final byte[] ZERO_LENGTH_LINE = ascii("content-length: 0");
    /** The head being read and the spans of its header lines, per thread; each request keeps a copy of its own. */
    private static final FastThreadLocal<HeadBytes> HEAD = new FastThreadLocal<>() {
        @Override
        protected HeadBytes initialValue() {
            return new HeadBytes();
        }
    };
    private static final FastThreadLocal<int[]> SPANS = new FastThreadLocal<>() {
        @Override
        protected int[] initialValue() {
            return new int[4 * 32];
        }
    };

    private final int maxInitialLine;
    private final int maxHeaderBytes;
    private final long maxBody;

    public WholeRequest(int maxInitialLine, int maxHeaderBytes, long maxBody) {
        this.maxInitialLine = maxInitialLine;
        this.maxHeaderBytes = maxHeaderBytes;
        this.maxBody = maxBody;
    }

    /**
     * The request in {@code in}, which it then owns (its body is {@code in} itself), or null when
     * {@code in} is not exactly one plain request; {@code in} is then untouched.
     */
    public FullHttpRequest parse(ByteBuf in) {
        HeadBytes head = HEAD.get();
        // the request line's CRLF and the empty line's are not counted by either limit
        if (!head.read(in, maxInitialLine + maxHeaderBytes + 4)) {
            return null; // not all here, too large, or not CRLF lines
        }
        byte[] b = head.bytes;
        int end = head.length;
        HttpMethod method;
        int uriStart;
        if (startsWith(b, end, "POST ")) {
            method = HttpMethod.POST;
            uriStart = 5;
        } else if (startsWith(b, end, "GET ")) {
            method = HttpMethod.GET;
            uriStart = 4;
        } else {
            return null;
        }
        int lineEnd = lineEnd(b, uriStart, Math.min(end, maxInitialLine));
        if (lineEnd < 0 || lineEnd - uriStart < 10) {
            return null; // no line end within the limit, or no room for "/ HTTP/1.1"
        }
        int versionStart = lineEnd - 8;
        HttpVersion version;
        if (regionIs(b, versionStart, "HTTP/1.1")) {
            version = HttpVersion.HTTP_1_1;
        } else if (regionIs(b, versionStart, "HTTP/1.0")) {
            version = HttpVersion.HTTP_1_0;
        } else {
            return null;
        }
        int uriEnd = versionStart - 1;
        if (b[uriEnd] != ' ' || b[uriStart] != '/' || !visible(b, uriStart, uriEnd)) {
            return null;
        }
        int headersStart = lineEnd + 2;
        int[] spans = SPANS.get();
        int count = 0;
        long length = -1;
        int pos = headersStart;
        int headLimit = Math.min(end, pos + maxHeaderBytes);
        while (true) {
            int eol = lineEnd(b, pos, headLimit);
            if (eol < 0) {
                return null;
            }
            if (eol == pos) {
                pos += 2;
                break;
            }
            int colon = headerColon(b, pos, eol);
            if (colon < 0 || !token(b, pos, colon)) {
                return null;
            }
            int nameLength = colon - pos;
            int valueStart = skipSpaces(b, colon + 1, eol);
            int valueEnd = trimSpaces(b, valueStart, eol);
            if (!text(b, valueStart, valueEnd) || nameIs(b, pos, nameLength, TRANSFER_ENCODING)
                    || nameIs(b, pos, nameLength, EXPECT)) {
                return null;
            }
            if (nameIs(b, pos, nameLength, CONTENT_LENGTH)) {
                if (length >= 0 || (length = number(b, valueStart, valueEnd)) < 0) {
                    return null;
                }
            }
            if (4 * count + 4 > spans.length) {
                spans = Arrays.copyOf(spans, spans.length * 2);
                SPANS.set(spans);
            }
            spans[4 * count] = pos - headersStart;
            spans[4 * count + 1] = colon - headersStart;
            spans[4 * count + 2] = valueStart - headersStart;
            spans[4 * count + 3] = valueEnd - headersStart;
            count++;
            pos = eol + 2;
        }
        long bodyBytes = in.readableBytes() - pos;
        if (bodyBytes != Math.max(length, 0) || bodyBytes > maxBody) {
            return null; // split, pipelined, or over the limit (whose 413 the aggregator gives)
        }
        HttpHeaders headers = headers(b, headersStart, pos - 2, spans, count, length < 0);
        String uri = new String(b, uriStart, uriEnd - uriStart, StandardCharsets.ISO_8859_1);
        ByteBuf body;
        if (bodyBytes == 0) {
            in.release();
            body = Unpooled.EMPTY_BUFFER;
        } else {
            in.skipBytes(pos);
            body = in;
        }
        return new DefaultFullHttpRequest(version, method, uri, body, headers, EmptyHttpHeaders.INSTANCE);
    }

    /**
     * The header lines {@code [from, to)} of the head, copied, with their spans; a request
     * without a length gets {@code content-length: 0} at the end, as the aggregator sets it.
     */
    private static HttpHeaders headers(byte[] head, int from, int to, int[] spans, int count, boolean addZeroLength) {
        int n = to - from;
        byte[] block = new byte[n + (addZeroLength ? ZERO_LENGTH_LINE.length : 0)];
        System.arraycopy(head, from, block, 0, n);
        int headers = count + (addZeroLength ? 1 : 0);
        int[] own = Arrays.copyOf(spans, 4 * headers);
        if (addZeroLength) {
            System.arraycopy(ZERO_LENGTH_LINE, 0, block, n, ZERO_LENGTH_LINE.length);
            int colon = n + CONTENT_LENGTH.length;
            own[4 * count] = n;
            own[4 * count + 1] = colon;
            own[4 * count + 2] = colon + 2;
            own[4 * count + 3] = colon + 3;
        }
        return new RawRequestHeaders(block, own, headers);
    }

    private static boolean startsWith(byte[] b, int end, String ascii) {
        return end >= ascii.length() && regionIs(b, 0, ascii);
    }

    /** RFC 9110 token characters, by byte: a table, as a name's hyphens would each cost a search. */
    private static final boolean[] TOKEN = new boolean[256];

    static {
        for (int c = 0; c < 256; c++) {
            TOKEN[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
        }
    }

    /** A header name: token characters only. */
    private static boolean token(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!TOKEN[b[i] & 0xff]) {
                return false;
            }
        }
        return true;
    }

    /** Printable ASCII, nothing else (the URI). */
    private static boolean visible(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            byte c = b[i];
            if (c <= 0x20 || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    /** A header value: tabs, visible characters and Latin-1 bytes, no other control characters. */
    private static boolean text(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            int c = b[i] & 0xff;
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return false;
            }
        }
        return true;
    }
}
