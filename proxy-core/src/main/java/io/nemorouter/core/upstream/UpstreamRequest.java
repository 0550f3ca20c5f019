package io.nemorouter.core.upstream;

import io.nemorouter.core.internal.http1.HttpBytes;
import io.nemorouter.core.internal.http1.WireBytes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

import java.nio.charset.StandardCharsets;

/**
 * An upstream request written straight to bytes: request line and headers assembled in the
 * thread's {@link WireBytes} when it is finished, the body copied behind them when small (one
 * pooled buffer, one copy into it), appended without a copy when large. The gateway only
 * ever sends a POST of known length, so building a header map and running Netty's generic encoder
 * over it (validation, a second pass to serialise) would be work without purpose on the hot path.
 *
 * <p>Header bytes are written as ISO-8859-1, one byte per char, which is how the server codec
 * decoded the client's headers: a forwarded value reaches the upstream byte for byte.
 */
public final class UpstreamRequest {
    /**
     * What the head is made of, in order (a request line, the client's headers, a trusted header's
     * name and value, a header line), written only in {@link #finish}: the thread's array is taken
     * and given back there, in one go, so a provider may build a request, wait (for a token, say)
     * and send it later, with other messages built on the thread meanwhile.
     */
    private Object[] parts = new Object[8];
    private int count;
    private int headBytes;
    private final ByteBuf body;
    /** Headers set for this request ({@code Exchange#upstreamHeader}): the client's of the same names stay out. */
    private java.util.List<java.util.Map.Entry<String, String>> replacing = java.util.List.of();

    UpstreamRequest(byte[] requestLine, ByteBuf body) {
        this.body = body;
        add(requestLine, requestLine.length);
    }

    private void add(Object part, int bytes) {
        if (count == parts.length) {
            parts = java.util.Arrays.copyOf(parts, count * 2);
        }
        parts[count++] = part;
        headBytes += bytes;
    }

    /**
     * The request line and {@code Host} header for POSTs to {@code path} under {@code origin}'s base
     * path; constant per provider and endpoint, so providers compute it once.
     */
    public static byte[] preamble(Origin origin, String path) {
        return ("POST " + origin.basePath() + path + " HTTP/1.1\r\nhost: " + origin.hostHeader() + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * A header line the gateway sets itself (credentials, API versions), as bytes: providers build
     * it once, when they are created, and add it to every request with {@link #header(byte[])}.
     * Refuses control characters, so a value from config can never split the request.
     *
     * @throws IllegalArgumentException if the name or value has a control or non-Latin-1 character
     */
    public static byte[] headerLine(CharSequence name, CharSequence value) {
        if (!HttpBytes.isHeaderText(name) || !HttpBytes.isHeaderText(value)) {
            throw new IllegalArgumentException("header text may not contain control or non-Latin-1 characters");
        }
        return (name + ": " + value + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Adds a line made by {@link #headerLine}. */
    public UpstreamRequest header(byte[] line) {
        add(line, line.length);
        return this;
    }

    /** Adds a header already validated (the client's, as the server codec decoded them). */
    UpstreamRequest headerTrusted(AsciiString name, CharSequence value) {
        add(name, name.length() + 4);
        add(value, value.length());
        return this;
    }

    /**
     * Adds the client's end-to-end headers (those {@link UpstreamClient#forwarded} lets through), as
     * they came, except those {@code set} replaces; then {@code set}, the headers set on the exchange.
     */
    UpstreamRequest clientHeaders(HttpHeaders headers, java.util.List<java.util.Map.Entry<String, String>> set) {
        add(headers, 256);
        replacing = set.isEmpty() ? java.util.List.of() : java.util.List.copyOf(set); // a request may be sent later (after a token mint)
        for (java.util.Map.Entry<String, String> h : set) {
            headerTrusted(AsciiString.of(h.getKey()), h.getValue()); // checked when set
        }
        return this;
    }

    /** Whether a client header of this name goes upstream: forwarded, and not replaced by one set on the exchange. */
    private boolean forwarded(CharSequence name) {
        if (!UpstreamClient.forwarded(name)) {
            return false;
        }
        for (java.util.Map.Entry<String, String> h : replacing) {
            String n = h.getKey();
            if (n.length() == name.length() && AsciiString.contentEqualsIgnoreCase(n, name)) {
                return false;
            }
        }
        return true;
    }

    /** The whole request, ready to write; ownership of the head and body passes to the result. */
    ByteBuf finish(ByteBufAllocator alloc) {
        int bodyBytes = body.readableBytes();
        WireBytes head = WireBytes.start(headBytes + 64 + (bodyBytes <= WireBytes.INLINE_BODY_BYTES ? bodyBytes : 0));
        for (int i = 0; i < count; i++) {
            Object part = parts[i];
            if (part instanceof byte[] line) {
                head.put(line);
            } else if (part instanceof HttpHeaders client) {
                head.headerLines(client, replacing.isEmpty() ? UpstreamClient::forwarded : this::forwarded);
            } else {
                head.text((AsciiString) part, (CharSequence) parts[++i]);
            }
        }
        head.number(HttpHeaderNames.CONTENT_LENGTH, bodyBytes);
        head.crlf();
        if (bodyBytes <= WireBytes.INLINE_BODY_BYTES) {
            head.put(body, body.readerIndex(), bodyBytes);
            body.release();
            return head.copyTo(alloc);
        }
        CompositeByteBuf whole = alloc.compositeDirectBuffer(2);
        return whole.addComponent(true, head.copyTo(alloc)).addComponent(true, body);
    }

}
