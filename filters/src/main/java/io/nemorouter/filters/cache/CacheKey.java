package io.nemorouter.filters.cache;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigDecimal;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Set;

/**
 * The cache key of a request: SHA-256 over its scope (the tenant whose answers it may read), the
 * endpoint, the model name and the canonical form of every body member that can change the
 * answer. Canonical: no whitespace; strings as JSON escapes them (the same text whether a character
 * came escaped or not); numbers by value ({@code 0.70}, {@code 0.7} and {@code 7e-1} are one
 * number); object members ordered by their canonical names' length, then bytes (so a chat message's
 * {@code role} comes before its {@code content}, as clients write them, and most objects need no
 * reordering), a repeated name counted once,
 * by its last value (as a JSON tree keeps it). The members that cannot change the answer
 * ({@link #IGNORED}) are left out, so one client's {@code metadata} or {@code stream} does not
 * split the cache.
 *
 * <p>Two ways in, one canonical text: {@link #of(String, String, String, ByteBuf)} reads the body's
 * bytes itself, in one pass into a buffer the event loop keeps (the first pass has validated them;
 * on a miss at 1,000 requests/s Jackson's tree and a text key cost some 9 µs of cold code, its
 * streaming parser 7); the tree form is for a body that filters have edited. {@code CacheKeyTest}
 * checks that both give the same key for any body.
 */
final class CacheKey {
    /** Top-level members that do not change the answer. {@code model} is keyed on its own. */
    static final Set<String> IGNORED = Set.of("model", "metadata", "tags", "user", "stream", "stream_options", "nemo_cache");
    /** {@link #IGNORED}'s names as they are written, quoted. */
    private static final byte[][] IGNORED_QUOTED = IGNORED.stream()
            .map(name -> ('"' + name + '"').getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
    /** {@link #IGNORED_QUOTED} by length: a top-level name of another length is not compared at all. */
    private static final byte[][][] IGNORED_BY_LENGTH = byLength(IGNORED_QUOTED);
    /** v3: members by name length first (v2 ordered them by bytes alone: every message was reordered). */
    private static final String VERSION = "nemo-cache-v3";
    /** As deep as the gateway's first pass lets a body nest. */
    private static final int MAX_DEPTH = 1000;
    private static final FastThreadLocal<Canonical> CANONICAL = new FastThreadLocal<>() {
        @Override
        protected Canonical initialValue() throws NoSuchAlgorithmException {
            return new Canonical();
        }
    };
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] UTF8_BOM = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf};

    private CacheKey() {
    }

    private static byte[][][] byLength(byte[][] names) {
        int longest = Arrays.stream(names).mapToInt(b -> b.length).max().orElse(0);
        byte[][][] table = new byte[longest + 1][][];
        for (byte[] name : names) {
            byte[][] same = table[name.length];
            table[name.length] = same == null ? new byte[][]{name} : Arrays.copyOf(same, same.length + 1);
            table[name.length][table[name.length].length - 1] = name;
        }
        return table;
    }

    /** A request whose key cannot be told from another's (a number past double's range): it is not cached. */
    static final class Uncacheable extends RuntimeException {
        Uncacheable() {
            super(null, null, false, false);
        }
    }

    /**
     * The key (64 hex digits) of a request whose body's bytes are {@code content} (a JSON object,
     * already checked by the gateway's first pass; read, not consumed).
     *
     * @throws Uncacheable when a number is past double's range, or the bytes are not one JSON object
     */
    static String of(String scope, String endpoint, String model, ByteBuf content) {
        Canonical c = CANONICAL.get();
        c.start(scope, endpoint, model);
        int length = content.readableBytes();
        if (content.hasArray()) {
            c.document(content.array(), content.arrayOffset() + content.readerIndex(), length);
        } else {
            byte[] copy = c.input(length);
            content.getBytes(content.readerIndex(), copy, 0, length);
            c.document(copy, 0, length);
        }
        return c.key();
    }

    /** The key (64 hex digits) of a request whose body is {@code body} (an object, as edited). */
    static String of(String scope, String endpoint, String model, JsonNode body) {
        Canonical c = CANONICAL.get();
        c.start(scope, endpoint, model);
        c.tree(body, 1);
        return c.key();
    }

    /** The canonical text of {@code v} (for tests). */
    static String canonical(JsonNode v) {
        Canonical c = CANONICAL.get();
        c.n = 0;
        c.members = 0;
        c.tree(v, 2);
        return new String(c.out, 0, c.n, StandardCharsets.UTF_8);
    }

    /**
     * The canonical text being built, and the SHA-256 of it: one per event loop, reused. An
     * object's members are written as they come, each after a comma, their spans noted; when the
     * object ends and its names were not in order (or one repeats), its span is written again
     * from a copy, in order.
     */
    private static final class Canonical {
        private final MessageDigest sha;
        byte[] out = new byte[1024];
        int n;
        /** The body being read. */
        private byte[] in;
        private int at;
        private int end;
        private byte[] input = new byte[1024];
        private byte[] copy = new byte[1024];
        /** The members of the objects open now, innermost last: where each starts, its name ends, it ends, in {@link #out}. */
        private int[] starts = new int[32];
        private int[] nameEnds = new int[32];
        private int[] ends = new int[32];
        int members;
        private int[] order = new int[32];

        Canonical() throws NoSuchAlgorithmException {
            sha = MessageDigest.getInstance("SHA-256");
        }

        void start(String scope, String endpoint, String model) {
            n = 0;
            members = 0;
            line(VERSION);
            line(scope);
            line(endpoint);
            line(model);
        }

        byte[] input(int length) {
            if (input.length < length) {
                input = new byte[Math.max(length, input.length * 2)];
            }
            return input;
        }

        String key() {
            sha.update(out, 0, n);
            byte[] d = sha.digest();
            byte[] hex = new byte[d.length * 2];
            for (int i = 0; i < d.length; i++) {
                hex[2 * i] = HEX[(d[i] >> 4) & 0xf];
                hex[2 * i + 1] = HEX[d[i] & 0xf];
            }
            return new String(hex, StandardCharsets.ISO_8859_1);
        }

        // ---- from the body's bytes -------------------------------------------------------------

        void document(byte[] bytes, int from, int length) {
            in = bytes;
            at = from;
            end = from + length;
            if (length >= 3 && in[at] == UTF8_BOM[0] && in[at + 1] == UTF8_BOM[1] && in[at + 2] == UTF8_BOM[2]) {
                at += 3;
            }
            if (next() != '{') {
                throw new Uncacheable();
            }
            object(1);
            if (at < end && next() != 0) {
                throw new Uncacheable(); // something after the object
            }
            in = null;
        }

        /** The next byte that is not whitespace, taken; 0 at the end. */
        private byte next() {
            while (at < end) {
                byte b = in[at++];
                if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                    return b;
                }
            }
            return 0;
        }

        /** The object whose '{' was just read; {@code depth} 1 is the body, whose {@link #IGNORED} members are left out. */
        private void object(int depth) {
            if (depth > MAX_DEPTH) {
                throw new Uncacheable();
            }
            int base = members;
            int open = n;
            put('{');
            byte b = next();
            if (b != '}') {
                while (true) {
                    if (b != '"') {
                        throw new Uncacheable();
                    }
                    int comma = n;
                    if (members > base) {
                        put(',');
                    }
                    int m = note();
                    string();
                    nameEnds[m] = n;
                    if (next() != ':') {
                        throw new Uncacheable();
                    }
                    put(':');
                    value(next(), depth);
                    ends[m] = n;
                    if (depth == 1 && ignored(m)) {
                        n = comma; // written to find its end, and taken back
                        members--;
                    }
                    b = next();
                    if (b == '}') {
                        break;
                    }
                    if (b != ',') {
                        throw new Uncacheable();
                    }
                    b = next();
                }
            }
            order(base, open + 1);
            members = base;
            put('}');
        }

        private void value(byte b, int depth) {
            switch (b) {
                case '{' -> object(depth + 1);
                case '[' -> array(depth + 1);
                case '"' -> string();
                case 't' -> literal("true");
                case 'f' -> literal("false");
                case 'n' -> literal("null");
                default -> {
                    if (b == '-' || (b >= '0' && b <= '9')) {
                        number();
                    } else {
                        throw new Uncacheable();
                    }
                }
            }
        }

        private void array(int depth) {
            if (depth > MAX_DEPTH) {
                throw new Uncacheable();
            }
            put('[');
            byte b = next();
            if (b != ']') {
                while (true) {
                    value(b, depth);
                    b = next();
                    if (b == ']') {
                        break;
                    }
                    if (b != ',') {
                        throw new Uncacheable();
                    }
                    put(',');
                    b = next();
                }
            }
            put(']');
        }

        private void literal(String word) {
            int from = at - 1;
            if (from + word.length() > end) {
                throw new Uncacheable();
            }
            for (int i = 1; i < word.length(); i++) {
                if (in[from + i] != word.charAt(i)) {
                    throw new Uncacheable();
                }
            }
            at = from + word.length();
            ascii(word);
        }

        /** A number: plain integers as they are (the first pass has checked their form), others by value. */
        private void number() {
            int from = at - 1;
            boolean integer = true;
            while (at < end) {
                byte b = in[at];
                if (b >= '0' && b <= '9' || b == '-') {
                    at++;
                } else if (b == '.' || b == 'e' || b == 'E' || b == '+') {
                    integer = false;
                    at++;
                } else {
                    break;
                }
            }
            int digits = at - from - (in[from] == '-' ? 1 : 0);
            if (integer && digits <= 18) {
                if (digits == 1 && in[from] == '-' && in[from + 1] == '0') {
                    put('0'); // -0 is 0
                } else {
                    room(at - from);
                    System.arraycopy(in, from, out, n, at - from);
                    n += at - from;
                }
                return;
            }
            String text = new String(in, from, at - from, StandardCharsets.ISO_8859_1);
            try {
                if (integer) {
                    try {
                        ascii(Long.toString(Long.parseLong(text)));
                    } catch (NumberFormatException pastLong) {
                        ascii(decimal(new BigDecimal(text)));
                    }
                } else {
                    ascii(byValue(Double.parseDouble(text))); // a tree reads JSON's decimals as doubles too
                }
            } catch (NumberFormatException e) {
                throw new Uncacheable();
            }
        }

        /**
         * The string whose opening quote was just read, in canonical form: its escapes decoded and
         * written again one way ({@link #character}), other bytes as they are (UTF-8). The runs
         * between escapes (a prompt is nearly all run) are found eight bytes at a time and copied
         * whole: a byte at a time, a 4 KB context took 20 µs.
         */
        private void string() {
            put('"');
            while (true) {
                int from = at;
                int stop = plainRun(in, from, end);
                if (stop > from) {
                    room(stop - from);
                    System.arraycopy(in, from, out, n, stop - from);
                    n += stop - from;
                }
                if (stop >= end) {
                    throw new Uncacheable();
                }
                byte b = in[stop];
                at = stop + 1;
                if (b == '"') {
                    put('"');
                    return;
                }
                if (b != '\\') {
                    throw new Uncacheable(); // a control character: JSON does not allow it raw
                }
                character(escaped());
            }
        }

        /** The character an escape stands for (the backslash just read); a surrogate pair as one code point. */
        private int escaped() {
            if (at >= end) {
                throw new Uncacheable();
            }
            byte e = in[at++];
            return switch (e) {
                case '"' -> '"';
                case '\\' -> '\\';
                case '/' -> '/';
                case 'b' -> '\b';
                case 'f' -> '\f';
                case 'n' -> '\n';
                case 'r' -> '\r';
                case 't' -> '\t';
                case 'u' -> {
                    char c = hex4();
                    if (Character.isHighSurrogate(c) && at + 6 <= end && in[at] == '\\' && in[at + 1] == 'u') {
                        int mark = at;
                        at += 2;
                        char low = hex4();
                        if (Character.isLowSurrogate(low)) {
                            yield Character.toCodePoint(c, low);
                        }
                        at = mark; // a lone high surrogate, then another escape
                    }
                    yield c;
                }
                default -> throw new Uncacheable();
            };
        }

        private char hex4() {
            if (at + 4 > end) {
                throw new Uncacheable();
            }
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = Character.digit(in[at++], 16);
                if (d < 0) {
                    throw new Uncacheable();
                }
                v = v << 4 | d;
            }
            return (char) v;
        }

        // ---- from a tree -----------------------------------------------------------------------

        /** {@code v}; {@code depth} 1 is the body, whose {@link #IGNORED} members are left out. */
        void tree(JsonNode v, int depth) {
            switch (v.getNodeType()) {
                case OBJECT -> {
                    int base = members;
                    int open = n;
                    put('{');
                    for (Iterator<java.util.Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                        java.util.Map.Entry<String, JsonNode> member = it.next();
                        if (depth == 1 && IGNORED.contains(member.getKey())) {
                            continue;
                        }
                        if (members > base) {
                            put(',');
                        }
                        int m = note();
                        string(member.getKey());
                        nameEnds[m] = n;
                        put(':');
                        tree(member.getValue(), depth + 1);
                        ends[m] = n;
                    }
                    order(base, open + 1);
                    members = base;
                    put('}');
                }
                case ARRAY -> {
                    put('[');
                    for (int i = 0; i < v.size(); i++) {
                        if (i > 0) {
                            put(',');
                        }
                        tree(v.get(i), depth + 1);
                    }
                    put(']');
                }
                case NUMBER -> {
                    if (v.isIntegralNumber() && v.canConvertToLong()) {
                        ascii(Long.toString(v.longValue()));
                    } else if (v.isIntegralNumber() || v.isBigDecimal()) {
                        ascii(decimal(v.decimalValue()));
                    } else {
                        ascii(byValue(v.doubleValue()));
                    }
                }
                case STRING -> string(v.textValue());
                case BOOLEAN -> ascii(v.booleanValue() ? "true" : "false");
                default -> ascii("null");
            }
        }

        private void string(String s) {
            put('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    character(Character.toCodePoint(c, s.charAt(++i)));
                } else {
                    character(c);
                }
            }
            put('"');
        }

        // ---- members in order ------------------------------------------------------------------

        private int note() {
            if (members == starts.length) {
                int more = members * 2;
                starts = Arrays.copyOf(starts, more);
                nameEnds = Arrays.copyOf(nameEnds, more);
                ends = Arrays.copyOf(ends, more);
            }
            starts[members] = n;
            return members++;
        }

        /** Whether member {@code m}'s name is one of {@link #IGNORED}: only a name of one of their lengths is compared. */
        private boolean ignored(int m) {
            int length = nameEnds[m] - starts[m];
            byte[][] candidates = length < IGNORED_BY_LENGTH.length ? IGNORED_BY_LENGTH[length] : null;
            if (candidates != null) {
                for (byte[] name : candidates) {
                    if (Arrays.equals(out, starts[m], nameEnds[m], name, 0, length)) {
                        return true;
                    }
                }
            }
            return false;
        }

        /** Compares members {@code a} and {@code b} by their written names' length, then bytes. */
        private int compare(int a, int b) {
            return compareNames(out, starts[a], nameEnds[a], out, starts[b], nameEnds[b]);
        }

        /**
         * Members {@code base..members} were written from {@code from} on, as they came: when their
         * names are not in order or one repeats, they are written again, sorted, the last of a
         * repeated name kept.
         */
        private void order(int base, int from) {
            int count = members - base;
            boolean inOrder = true;
            for (int i = base + 1; i < members && inOrder; i++) {
                inOrder = compare(i - 1, i) < 0;
            }
            if (inOrder) {
                return;
            }
            if (order.length < count) {
                order = new int[Math.max(count, order.length * 2)];
            }
            for (int i = 0; i < count; i++) {
                order[i] = base + i;
            }
            sort(count);
            int length = n - from;
            if (copy.length < length) {
                copy = new byte[Math.max(length, copy.length * 2)];
            }
            System.arraycopy(out, from, copy, 0, length);
            boolean first = true;
            n = from;
            for (int i = 0; i < count; i++) {
                int m = order[i];
                if (i + 1 < count && compareCopied(order[i + 1], m, from) == 0) {
                    continue; // a later value of the same name wins
                }
                if (!first) {
                    put(',');
                }
                first = false;
                int span = ends[m] - starts[m];
                room(span);
                System.arraycopy(copy, starts[m] - from, out, n, span);
                n += span;
            }
        }

        /** {@link #compare} once the names have been moved to {@link #copy} (they start at {@code from} in it). */
        private int compareCopied(int a, int b, int from) {
            return compareNames(copy, starts[a] - from, nameEnds[a] - from, copy, starts[b] - from, nameEnds[b] - from);
        }

        /**
         * Sorts {@code order[0..count)} by name, stably (of a repeated name, the last written stays
         * last): by insertion for the few members objects have, else merged.
         */
        private void sort(int count) {
            if (count > 16) {
                Integer[] boxed = new Integer[count];
                for (int i = 0; i < count; i++) {
                    boxed[i] = order[i];
                }
                Arrays.sort(boxed, this::compare);
                for (int i = 0; i < count; i++) {
                    order[i] = boxed[i];
                }
                return;
            }
            for (int i = 1; i < count; i++) {
                int m = order[i];
                int j = i - 1;
                while (j >= 0 && compare(order[j], m) > 0) {
                    order[j + 1] = order[j];
                    j--;
                }
                order[j + 1] = m;
            }
        }

        // ---- bytes -----------------------------------------------------------------------------

        private void room(int more) {
            if (n + more > out.length) {
                out = Arrays.copyOf(out, Math.max(n + more, out.length * 2));
            }
        }

        private void put(int b) {
            if (n == out.length) {
                room(1);
            }
            out[n++] = (byte) b;
        }

        private void ascii(String s) {
            room(s.length());
            for (int i = 0; i < s.length(); i++) {
                out[n++] = (byte) s.charAt(i);
            }
        }

        /**
         * A line of the key's head as UTF-8 (a lone surrogate as '?', as String.getBytes writes it):
         * an ASCII one (a scope, an endpoint, a model name, nearly always) written as it is, with no
         * array made for it.
         */
        private void line(String s) {
            int length = s.length();
            room(length + 1);
            int i = 0;
            while (i < length && s.charAt(i) < 0x80) {
                out[n + i] = (byte) s.charAt(i);
                i++;
            }
            if (i == length) {
                n += length;
                out[n++] = '\n';
                return;
            }
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            room(b.length + 1);
            System.arraycopy(b, 0, out, n, b.length);
            n += b.length;
            out[n++] = '\n';
        }

        /**
         * One character of a string, one way whatever its form in the request: '"' and '\\'
         * escaped, control characters and lone surrogates as a \\u escape (a lone surrogate has no
         * UTF-8 form; as '?' it would be the same as a '?'), every other as UTF-8.
         */
        private void character(int c) {
            room(6);
            if (c >= 0x20 && c < 0x80) {
                if (c == '"' || c == '\\') {
                    out[n++] = '\\';
                }
                out[n++] = (byte) c;
            } else if (c < 0x20 || (c >= Character.MIN_SURROGATE && c <= Character.MAX_SURROGATE)) {
                out[n++] = '\\';
                out[n++] = 'u';
                out[n++] = HEX[(c >> 12) & 0xf];
                out[n++] = HEX[(c >> 8) & 0xf];
                out[n++] = HEX[(c >> 4) & 0xf];
                out[n++] = HEX[c & 0xf];
            } else if (c < 0x800) {
                out[n++] = (byte) (0xc0 | (c >> 6));
                out[n++] = (byte) (0x80 | (c & 0x3f));
            } else if (c < 0x10000) {
                out[n++] = (byte) (0xe0 | (c >> 12));
                out[n++] = (byte) (0x80 | ((c >> 6) & 0x3f));
                out[n++] = (byte) (0x80 | (c & 0x3f));
            } else {
                out[n++] = (byte) (0xf0 | (c >> 18));
                out[n++] = (byte) (0x80 | ((c >> 12) & 0x3f));
                out[n++] = (byte) (0x80 | ((c >> 6) & 0x3f));
                out[n++] = (byte) (0x80 | (c & 0x3f));
            }
        }
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    /**
     * Where the plain run of a string's bytes from {@code from} ends: at the first '"', '\\' or
     * control character (below 0x20), or {@code end}. Eight bytes at a time: a byte of a word is
     * zero where it was '"' ({@code w ^ '"'...}), and the classic "has a byte less than" test
     * marks the lowest such byte exactly (borrows only run upward, little-endian: to later bytes).
     */
    static int plainRun(byte[] in, int from, int end) {
        int i = from;
        for (; i + 8 <= end; i += 8) {
            long w = (long) LONGS.get(in, i);
            long quote = w ^ 0x2222222222222222L;
            long backslash = w ^ 0x5c5c5c5c5c5c5c5cL;
            long found = ((quote - ONES) & ~quote | (backslash - ONES) & ~backslash | (w - 0x20 * ONES) & ~w) & HIGHS;
            if (found != 0) {
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < end; i++) {
            byte b = in[i];
            if (b == '"' || b == '\\' || (b >= 0 && b < 0x20)) {
                return i;
            }
        }
        return end;
    }

    /** The canonical order of two names (as written, quoted): the shorter first, names of one length by their bytes. */
    private static int compareNames(byte[] a, int aFrom, int aTo, byte[] b, int bFrom, int bTo) {
        int byLength = Integer.compare(aTo - aFrom, bTo - bFrom);
        return byLength != 0 ? byLength : Arrays.compareUnsigned(a, aFrom, aTo, b, bFrom, bTo);
    }

    /** A decimal number read as a double by its value: 1.0 and 1e0 are {@code 1}; past double's range, uncacheable. */
    private static String byValue(double d) {
        if (!Double.isFinite(d)) {
            throw new Uncacheable(); // its digits are gone, so two such numbers cannot be told apart
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            return Long.toString((long) d); // also -0.0: "0"
        }
        return decimal(BigDecimal.valueOf(d));
    }

    private static final BigDecimal LONG_MIN = BigDecimal.valueOf(Long.MIN_VALUE);
    private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);

    /**
     * A number by its value: a whole number in a long's range as its digits (as an integer in the
     * body is written), anything else in scientific form, which keeps huge exponents short.
     */
    private static String decimal(BigDecimal value) {
        BigDecimal d = value.stripTrailingZeros();
        if (d.signum() == 0) {
            return "0";
        }
        if (d.scale() <= 0 && d.compareTo(LONG_MIN) >= 0 && d.compareTo(LONG_MAX) <= 0) {
            return Long.toString(d.longValueExact());
        }
        return d.toString();
    }
}
