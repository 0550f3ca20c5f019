package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The headers of a request read whole ({@link WholeRequest}): the head's header lines as they
 * came, in one array, with where each name and value starts and ends. What the gateway asks of
 * every request (a header by name, the keep-alive decision, the lines to forward upstream) is
 * answered from the bytes; anything else builds, once, the map Netty's decoder would have built
 * and goes to it, and from then on the map is the headers (a filter may change it).
 *
 * <p>Building that map for every request (a name and a value object per line, hashed into a
 * table) was a third of what the gateway allocated per request, for three lookups.
 */
public final class RawRequestHeaders extends HttpHeaders {
    private final byte[] block;
    /** Per header: name start, name end, value start, value end, as indexes into {@link #block}. */
    private final int[] spans;
    private final int count;
    private HttpHeaders map;

    RawRequestHeaders(byte[] block, int[] spans, int count) {
        this.block = block;
        this.spans = spans;
        this.count = count;
    }

    /** The map Netty's decoder would have made (names and values as AsciiStrings, as {@link WholeRequest} made them). */
    private HttpHeaders map() {
        if (map == null) {
            HttpHeaders m = DefaultHttpHeadersFactory.headersFactory().withValidation(false).newHeaders();
            for (int i = 0; i < count; i++) {
                m.add(name(i), value(i));
            }
            map = m;
        }
        return map;
    }

    private AsciiString name(int i) {
        return new AsciiString(block, spans[4 * i], spans[4 * i + 1] - spans[4 * i], false);
    }

    private AsciiString value(int i) {
        return new AsciiString(block, spans[4 * i + 2], spans[4 * i + 3] - spans[4 * i + 2], false);
    }

    private boolean nameIs(int i, CharSequence name) {
        int start = spans[4 * i];
        int length = spans[4 * i + 1] - start;
        if (length != name.length()) {
            return false;
        }
        for (int k = 0; k < length; k++) {
            if (AsciiString.toLowerCase((char) (block[start + k] & 0xff)) != AsciiString.toLowerCase(name.charAt(k))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Writes each header line {@code keep} accepts (given a view of its name) to {@code out} as
     * {@code name: value} and CRLF, in the order they came ({@link WireBytes#headerLines}).
     */
    void writeLines(WireBytes out, Predicate<CharSequence> keep) {
        if (map != null) {
            out.headerLines(map, keep);
            return;
        }
        NameView name = new NameView();
        for (int i = 0; i < count; i++) {
            name.start = spans[4 * i];
            name.length = spans[4 * i + 1] - name.start;
            if (keep.test(name)) {
                int s = 4 * i;
                out.put(block, spans[s], spans[s + 1] - spans[s]).colon();
                out.put(block, spans[s + 2], spans[s + 3] - spans[s + 2]).crlf();
            }
        }
    }

    /**
     * A header's name in {@link #block}, aimed at each line in turn by {@link #writeLines}: one
     * object per request instead of one per header line (an SDK sends fifteen or more), which the
     * predicate only reads and never keeps.
     */
    private final class NameView implements CharSequence {
        int start;
        int length;

        @Override
        public int length() {
            return length;
        }

        @Override
        public char charAt(int index) {
            return (char) (block[start + index] & 0xff);
        }

        @Override
        public CharSequence subSequence(int from, int to) {
            return new AsciiString(block, start + from, to - from, true);
        }

        @Override
        public String toString() {
            return new String(block, start, length, StandardCharsets.ISO_8859_1);
        }
    }

    @Override
    public String get(String name) {
        return get((CharSequence) name);
    }

    @Override
    public String get(CharSequence name) {
        if (map != null) {
            return map.get(name);
        }
        for (int i = 0; i < count; i++) {
            if (nameIs(i, name)) {
                return new String(block, spans[4 * i + 2], spans[4 * i + 3] - spans[4 * i + 2], StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    /** As Netty's: a value matches one of the comma-separated, trimmed values of any header of that name. */
    @Override
    public boolean containsValue(CharSequence name, CharSequence value, boolean ignoreCase) {
        if (map != null) {
            return map.containsValue(name, value, ignoreCase);
        }
        for (int i = 0; i < count; i++) {
            if (nameIs(i, name) && listContains(spans[4 * i + 2], spans[4 * i + 3], value, ignoreCase)) {
                return true;
            }
        }
        return false;
    }

    private boolean listContains(int from, int to, CharSequence value, boolean ignoreCase) {
        int start = from;
        for (int i = from; i <= to; i++) {
            if (i == to || block[i] == ',') {
                int s = start;
                int e = i;
                while (s < e && (block[s] == ' ' || block[s] == '\t')) {
                    s++;
                }
                while (e > s && (block[e - 1] == ' ' || block[e - 1] == '\t')) {
                    e--;
                }
                AsciiString item = new AsciiString(block, s, e - s, false);
                if (ignoreCase ? item.contentEqualsIgnoreCase(value) : item.contentEquals(value)) {
                    return true;
                }
                start = i + 1;
            }
        }
        return false;
    }

    @Override
    public boolean isEmpty() {
        return map != null ? map.isEmpty() : count == 0;
    }

    @Override
    public int size() {
        return map != null ? map.size() : count;
    }

    // Everything else: the map.

    @Override
    public Integer getInt(CharSequence name) {
        return map().getInt(name);
    }

    @Override
    public int getInt(CharSequence name, int defaultValue) {
        return map().getInt(name, defaultValue);
    }

    @Override
    public Short getShort(CharSequence name) {
        return map().getShort(name);
    }

    @Override
    public short getShort(CharSequence name, short defaultValue) {
        return map().getShort(name, defaultValue);
    }

    @Override
    public Long getTimeMillis(CharSequence name) {
        return map().getTimeMillis(name);
    }

    @Override
    public long getTimeMillis(CharSequence name, long defaultValue) {
        return map().getTimeMillis(name, defaultValue);
    }

    @Override
    public List<String> getAll(String name) {
        return map().getAll(name);
    }

    @Override
    public List<Map.Entry<String, String>> entries() {
        return map().entries();
    }

    @Override
    public boolean contains(String name) {
        return map().contains(name);
    }

    @Override
    public Iterator<Map.Entry<String, String>> iterator() {
        return map().iterator();
    }

    @Override
    public Iterator<Map.Entry<CharSequence, CharSequence>> iteratorCharSequence() {
        return map().iteratorCharSequence();
    }

    @Override
    public Set<String> names() {
        return map().names();
    }

    @Override
    public HttpHeaders add(String name, Object value) {
        map().add(name, value);
        return this;
    }

    @Override
    public HttpHeaders add(String name, Iterable<?> values) {
        map().add(name, values);
        return this;
    }

    @Override
    public HttpHeaders addInt(CharSequence name, int value) {
        map().addInt(name, value);
        return this;
    }

    @Override
    public HttpHeaders addShort(CharSequence name, short value) {
        map().addShort(name, value);
        return this;
    }

    @Override
    public HttpHeaders set(String name, Object value) {
        map().set(name, value);
        return this;
    }

    @Override
    public HttpHeaders set(String name, Iterable<?> values) {
        map().set(name, values);
        return this;
    }

    @Override
    public HttpHeaders setInt(CharSequence name, int value) {
        map().setInt(name, value);
        return this;
    }

    @Override
    public HttpHeaders setShort(CharSequence name, short value) {
        map().setShort(name, value);
        return this;
    }

    @Override
    public HttpHeaders remove(String name) {
        map().remove(name);
        return this;
    }

    @Override
    public HttpHeaders clear() {
        map().clear();
        return this;
    }
}
