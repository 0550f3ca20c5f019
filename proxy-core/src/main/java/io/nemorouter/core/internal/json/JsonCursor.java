package io.nemorouter.core.internal.json;

import java.nio.charset.StandardCharsets;

/**
 * A position in a JSON text held in a byte array, and the grammar of RFC 8259 to move it along:
 * values are validated as they are skipped (strings as strict UTF-8, escapes, numbers, literals,
 * nesting up to {@link #MAX_DEPTH}) but nothing is materialised except the strings asked for.
 * The gateway reads a handful of top-level fields and must still reject malformed bodies; a
 * general-purpose parser spends most of its time on machinery (symbol tables, token contexts,
 * locations) that this job does not need.
 *
 * <p>Every method throws {@link Malformed}, with the byte offset, when the text breaks the grammar.
 */
public final class JsonCursor {
    /** As deep as Jackson's default limit: deeper is rejected rather than recursed into. */
    public static final int MAX_DEPTH = 1000;

    /** The text breaks the grammar at {@link #at}. No stack trace: it is an answer, not a bug. */
    public static final class Malformed extends RuntimeException {
        public final int at;

        Malformed(String message, int at) {
            super(message, null, false, false);
            this.at = at;
        }
    }

    private final byte[] b;
    private final int end;
    public int pos;

    public JsonCursor(byte[] b, int start, int end) {
        this.b = b;
        this.pos = start;
        this.end = end;
    }

    public boolean atEnd() {
        return pos >= end;
    }

    /** The byte at the cursor (after {@link #skipSpace}), or -1 at the end. */
    public int peek() {
        return pos < end ? b[pos] & 0xff : -1;
    }

    public void skipSpace() {
        while (pos < end) {
            byte c = b[pos];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                return;
            }
            pos++;
        }
    }

    /** Consumes {@code c}, or fails saying what was expected. */
    public void expect(char c, String expected) {
        if (pos >= end || b[pos] != c) {
            throw unexpected(expected);
        }
        pos++;
    }

    /** Whether the string at the cursor (its opening quote) has exactly the bytes of {@code ascii}, escapes not decoded. */
    public boolean stringIs(byte[] ascii) {
        int n = ascii.length;
        if (pos + n + 2 > end || b[pos] != '"' || b[pos + n + 1] != '"') {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (b[pos + 1 + i] != ascii[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Skips one value of any kind, validating it; {@code depth} is how deep the container it is in
     * stands (1 for a member of the top-level object).
     */
    public void skipValue(int depth) {
        switch (peek()) {
            case '"' -> skipString();
            case '{' -> skipContainer(depth + 1, '}');
            case '[' -> skipContainer(depth + 1, ']');
            case 't', 'f', 'n' -> readLiteral();
            case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> skipNumber();
            default -> throw unexpected("a value");
        }
    }

    /** An object or array: members or elements until {@code close}, each value validated. */
    private void skipContainer(int depth, char close) {
        checkDepth(depth);
        if (!enter(close)) {
            return;
        }
        do {
            if (close == '}') {
                toName();
                skipString();
                toValue();
            } else {
                skipSpace();
            }
            skipValue(depth);
        } while (next(close));
    }

    /**
     * Steps into the object or array that opens at the cursor; whether it has a first item (false:
     * it was empty, and the cursor is past its end).
     */
    public boolean enter(char close) {
        pos++; // '{' or '['
        skipSpace();
        if (peek() == close) {
            pos++;
            return false;
        }
        return true;
    }

    /** After an item: past its comma (true, another follows) or past {@code close} (false), or fails. */
    public boolean next(char close) {
        skipSpace();
        if (peek() == ',') {
            pos++;
            return true;
        }
        expect(close, close == '}' ? "',' or '}'" : "',' or ']'");
        return false;
    }

    /** To the opening quote of a member's name, or fails. */
    public void toName() {
        skipSpace();
        if (peek() != '"') {
            throw unexpected("a field name");
        }
    }

    /** From the end of a member's name past its ':' to its value. */
    public void toValue() {
        skipSpace();
        expect(':', "':'");
        skipSpace();
    }

    private void checkDepth(int depth) {
        if (depth > MAX_DEPTH) {
            throw new Malformed("nested more than " + MAX_DEPTH + " levels deep", pos);
        }
    }

    /**
     * Validates the first token of the value at the cursor without moving it: what a streaming parser
     * has read when it reports the value's type. Literals and numbers are whole tokens; strings,
     * objects and arrays are only opened.
     */
    public void checkToken() {
        int at = pos;
        switch (peek()) {
            case '"', '{', '[' -> {
            }
            case 't', 'f', 'n' -> readLiteral();
            case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> skipNumber();
            default -> throw unexpected("a value");
        }
        pos = at;
    }

    /**
     * Validates the value at the cursor as a streaming parser does when told to skip it, without
     * moving the cursor: like {@link #checkToken}, but objects and arrays are walked to their end
     * ({@code depth} as for {@link #skipValue}).
     */
    public void checkSkipped(int depth) {
        int at = pos;
        if (peek() == '{' || peek() == '[') {
            skipValue(depth);
        } else {
            checkToken();
        }
        pos = at;
    }

    /**
     * Consumes the non-negative integer at the cursor (no sign, fraction or exponent, under 10^18)
     * and returns it; returns -1 with the cursor unmoved when the value is anything else.
     */
    public long readCount() {
        int p = pos;
        long v = 0;
        while (p < end && b[p] >= '0' && b[p] <= '9' && p - pos < 18) {
            v = v * 10 + (b[p] - '0');
            p++;
        }
        if (p == pos || (p < end && (b[p] == '.' || b[p] == 'e' || b[p] == 'E' || (b[p] >= '0' && b[p] <= '9')))
                || (b[pos] == '0' && p - pos > 1)) {
            return -1;
        }
        pos = p;
        return v;
    }

    /** What {@link #readLiteral} found. */
    public static final int NOT_A_LITERAL = 0, TRUE = 1, FALSE = 2, NULL = 3;

    /** Consumes the {@code true}, {@code false} or {@code null} at the cursor and says which; leaves any other value. */
    public int readLiteral() {
        switch (peek()) {
            case 't' -> {
                literal("true");
                return TRUE;
            }
            case 'f' -> {
                literal("false");
                return FALSE;
            }
            case 'n' -> {
                literal("null");
                return NULL;
            }
            default -> {
                return NOT_A_LITERAL;
            }
        }
    }

    /** What follows a literal or a number is left to the caller's grammar (a separator, or the end). */
    private void literal(String word) {
        int n = word.length();
        for (int i = 0; i < n; i++) {
            if (pos + i >= end || b[pos + i] != word.charAt(i)) {
                pos += i;
                throw unexpected("'" + word + "'");
            }
        }
        pos += n;
    }

    private void skipNumber() {
        if (b[pos] == '-') {
            pos++;
        }
        if (pos < end && b[pos] == '0') {
            pos++;
            if (pos < end && b[pos] >= '0' && b[pos] <= '9') {
                throw unexpected("no leading zero");
            }
        } else if (!digits()) {
            throw unexpected("a digit");
        }
        if (pos < end && b[pos] == '.') {
            pos++;
            if (!digits()) {
                throw unexpected("a digit after '.'");
            }
        }
        if (pos < end && (b[pos] == 'e' || b[pos] == 'E')) {
            pos++;
            if (pos < end && (b[pos] == '+' || b[pos] == '-')) {
                pos++;
            }
            if (!digits()) {
                throw unexpected("a digit in the exponent");
            }
        }
    }

    private boolean digits() {
        int from = pos;
        while (pos < end && b[pos] >= '0' && b[pos] <= '9') {
            pos++;
        }
        return pos > from;
    }

    /**
     * Skips the string at the cursor (its opening quote); returns whether it had escapes, so a
     * caller that wants its value knows whether the bytes can be taken as they are.
     */
    public boolean skipString() {
        int start = pos;
        byte[] b = this.b;
        int i = pos + 1; // past '"'
        boolean escaped = false;
        while (true) {
            // the common run: printable ASCII (bytes are signed, so non-ASCII is negative and stops it too)
            while (i < end && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\') {
                i++;
            }
            if (i >= end) {
                pos = i;
                throw new Malformed("unterminated string starting", start);
            }
            int c = b[i] & 0xff;
            if (c == '"') {
                pos = i + 1;
                return escaped;
            }
            pos = i;
            if (c == '\\') {
                escape();
                escaped = true;
            } else if (c < 0x20) {
                throw new Malformed("control character in a string (escape it)", pos);
            } else {
                utf8(c);
            }
            i = pos;
        }
    }

    private void escape() {
        pos++; // '\'
        if (pos >= end) {
            throw unexpected("an escape");
        }
        switch (b[pos]) {
            case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> pos++;
            case 'u' -> {
                pos++;
                for (int i = 0; i < 4; i++) {
                    if (pos >= end || hex(b[pos]) < 0) {
                        throw unexpected("four hex digits after \\u");
                    }
                    pos++;
                }
            }
            default -> throw unexpected("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        }
    }

    /** One multi-byte UTF-8 sequence, strictly: no overlong forms, surrogates or code points past U+10FFFF. */
    private void utf8(int lead) {
        int at = pos;
        int n;
        int min;
        int cp;
        if (lead >= 0xc2 && lead <= 0xdf) {
            n = 1;
            min = 0x80;
            cp = lead & 0x1f;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            n = 2;
            min = 0x800;
            cp = lead & 0x0f;
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            n = 3;
            min = 0x10000;
            cp = lead & 0x07;
        } else {
            throw new Malformed("invalid UTF-8", at);
        }
        pos++;
        for (int i = 0; i < n; i++) {
            if (pos >= end || (b[pos] & 0xc0) != 0x80) {
                throw new Malformed("invalid UTF-8", at);
            }
            cp = cp << 6 | (b[pos] & 0x3f);
            pos++;
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            throw new Malformed("invalid UTF-8", at);
        }
    }

    /**
     * The value of the string at the cursor (its opening quote), which is skipped. Without escapes
     * the bytes are decoded as they are; with them, each is resolved.
     */
    public String readString() {
        int start = pos;
        boolean escaped = skipString();
        if (!escaped) {
            return new String(b, start + 1, pos - start - 2, StandardCharsets.UTF_8);
        }
        return unescape(b, start + 1, pos - 1);
    }

    /** The text of a validated string body {@code [from, to)} with its escapes resolved. */
    private static String unescape(byte[] b, int from, int to) {
        StringBuilder out = new StringBuilder(to - from);
        int run = from;
        int i = from;
        while (i < to) {
            if (b[i] != '\\') {
                i++;
                continue;
            }
            out.append(new String(b, run, i - run, StandardCharsets.UTF_8));
            byte e = b[i + 1];
            if (e == 'u') {
                out.append((char) (hex(b[i + 2]) << 12 | hex(b[i + 3]) << 8 | hex(b[i + 4]) << 4 | hex(b[i + 5])));
                i += 6;
            } else {
                out.append(switch (e) {
                    case 'b' -> '\b';
                    case 'f' -> '\f';
                    case 'n' -> '\n';
                    case 'r' -> '\r';
                    case 't' -> '\t';
                    default -> (char) e; // " \ /
                });
                i += 2;
            }
            run = i;
        }
        return out.append(new String(b, run, to - run, StandardCharsets.UTF_8)).toString();
    }

    private static int hex(byte c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    public Malformed unexpected(String expected) {
        if (pos >= end) {
            return new Malformed("unexpected end of the body, expected " + expected, pos);
        }
        int c = b[pos] & 0xff;
        String seen = c >= 0x20 && c < 0x7f ? "'" + (char) c + "'" : String.format("byte 0x%02x", c);
        return new Malformed("unexpected " + seen + ", expected " + expected, pos);
    }
}
