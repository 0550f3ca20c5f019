package io.nemorouter.filters.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CacheKeyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The key of {@code body}, read from its bytes; checked against the key of its tree (an edited body's way). */
    private static String key(String scope, String body) throws Exception {
        JsonNode b = JSON.readTree(body);
        String fromBytes = CacheKey.of(scope, "/v1/chat/completions", b.path("model").asText(),
                Unpooled.wrappedBuffer(body.getBytes(StandardCharsets.UTF_8)));
        assertEquals(CacheKey.of(scope, "/v1/chat/completions", b.path("model").asText(), b), fromBytes, body);
        return fromBytes;
    }

    @Test
    void theBytesAndTheTreeGiveOneKeyForAnyBody() throws Exception {
        Random random = new Random(13);
        for (int i = 0; i < 3000; i++) {
            String rest = members(random, 0);
            String body = rest.equals("{}") ? "{\"model\":\"m\"}" : "{\"model\":\"m\"," + rest.substring(1);
            key("org:a", body);
            // the same body in a direct buffer, as the gateway holds it
            ByteBuf direct = Unpooled.directBuffer().writeBytes(body.getBytes(StandardCharsets.UTF_8));
            assertEquals(key("org:a", body), CacheKey.of("org:a", "/v1/chat/completions", "m", direct));
            direct.release();
        }
    }

    /**
     * A string's plain run ends at its first '"', '\\' or control character wherever that falls in
     * the eight-byte words it is read in (and not at a byte of a multi-byte character, above 0x7f,
     * nor at the characters next to the stoppers: '!', '#', '[', ']', ' ').
     */
    @Test
    void aPlainRunEndsAtTheFirstByteThatNeedsAttentionWhereverItIs() {
        byte[] plain = "ab\u00e9! #[]cd\u4e2d\u6587xyz \ud83d\ude00 long enough to span words".getBytes(StandardCharsets.UTF_8);
        byte[] stoppers = {'"', '\\', 0x00, 0x1f, '\n', '\t'};
        for (int length = 0; length <= plain.length; length++) {
            byte[] run = java.util.Arrays.copyOf(plain, length);
            assertEquals(length, CacheKey.plainRun(run, 0, length), "no stopper in " + length + " bytes");
            for (int at = 0; at < length; at++) {
                for (byte stop : stoppers) {
                    byte[] b = run.clone();
                    b[at] = stop;
                    for (int from = 0; from <= at; from += 3) {
                        assertEquals(at, CacheKey.plainRun(b, from, length), "stopper " + stop + " at " + at + " from " + from);
                    }
                    if (at + 1 < length) {
                        b[length - 1] = '"'; // a later one does not hide the first
                        assertEquals(at, CacheKey.plainRun(b, 0, length));
                    }
                }
            }
        }
    }

    @Test
    void aRepeatedMemberCountsByItsLastValue() throws Exception {
        assertEquals(key("org:a", "{\"model\":\"m\",\"seed\":2}"), key("org:a", "{\"seed\":1,\"model\":\"m\",\"seed\":2}"));
        assertEquals(key("org:a", "{\"model\":\"m\",\"x\":{\"a\":2,\"b\":1}}"),
                key("org:a", "{\"model\":\"m\",\"x\":{\"b\":1,\"a\":1,\"a\":2}}"));
    }

    @Test
    void aBodyThatIsNotOneObjectIsNotCached() {
        for (String bad : new String[]{"[1]", "{\"a\":", "{\"a\":1e999}"}) {
            assertThrows(CacheKey.Uncacheable.class, () -> CacheKey.of("org:a", "/v1/chat/completions", "m",
                    Unpooled.wrappedBuffer(bad.getBytes(StandardCharsets.UTF_8))), bad);
        }
    }

    /** A random JSON object's text: members in random order (some repeated), nested, numbers and strings of every form. */
    private static String members(Random r, int depth) {
        StringBuilder b = new StringBuilder("{");
        int count = r.nextInt(depth == 0 ? 25 : 5);
        String[] names = {"messages", "temperature", "role", "content", "a", "b", "metadata", "stream", "x\\u00e9", "\\u00e9", "tools", "n", "Z"};
        for (int i = 0; i < count; i++) {
            if (i > 0) {
                b.append(r.nextBoolean() ? "," : " ,\n ");
            }
            b.append('"').append(names[r.nextInt(names.length)]).append("\":").append(value(r, depth + 1));
        }
        return b.append('}').toString();
    }

    private static String value(Random r, int depth) {
        String[] numbers = {"0", "-0", "0.0", "1", "1.0", "1e0", "10E-1", "0.7", "0.70", "7e-1", "-12.5e3", "123456789012345678901234567890",
                "9223372036854775807", "9223372036854775808", "1e20", "1.5e300", "3.14159265358979323846", "1e-7", "100", "2.50"};
        String[] strings = {"", "hi", "h\\u00e9llo", "\\n\\t", "\\\"q\\\"", "\\\\", "\u00e9t\u00e9", "\u4e2d\u6587", "\ud83d\ude00",
                "\\ud83d\\ude00", "\\u0001", "/", "\\/", "\u2028", "\\ud800", "\\udfffx", "\\ud83d\\u0041", "?",
                "a prompt longer than a word or two, \\\"quoted\\\" and \u00e9t\u00e9 with a \\n newline and a \\t tab in it",
                "0123456789abcdef\\u001f0123456789abcdef\\\\0123456789abcdef"};
        int kind = depth > 3 ? r.nextInt(4) : r.nextInt(6);
        return switch (kind) {
            case 0 -> numbers[r.nextInt(numbers.length)];
            case 1 -> '"' + strings[r.nextInt(strings.length)] + '"';
            case 2 -> r.nextBoolean() ? "true" : (r.nextBoolean() ? "false" : "null");
            case 3 -> '"' + Integer.toString(r.nextInt()) + '"';
            case 4 -> members(r, depth);
            default -> {
                StringBuilder a = new StringBuilder("[");
                int n = r.nextInt(4);
                for (int i = 0; i < n; i++) {
                    a.append(i > 0 ? "," : "").append(value(r, depth + 1));
                }
                yield a.append(']').toString();
            }
        };
    }

    @Test
    void orderWhitespaceAndNumberFormsDoNotMatter() throws Exception {
        String k = key("org:a", "{\"model\":\"m\",\"temperature\":0.7,\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"strict\":true}}}");
        assertEquals(k, key("org:a", " { \"messages\" : [ { \"content\" : \"hi\" , \"role\" : \"user\" } ] , \"max_tokens\" : 1e2 ,"
                + " \"response_format\":{\"json_schema\":{\"strict\":true,\"name\":\"x\"},\"type\":\"json_schema\"}, \"temperature\" : 0.70, \"model\":\"m\" }"));
        assertEquals(k, key("org:a", "{\"model\":\"m\",\"temperature\":7E-1,\"max_tokens\":100.0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"strict\":true}},"
                + "\"metadata\":{\"job_id\":\"j\"},\"tags\":[\"a\"],\"user\":\"u\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"nemo_cache\":true}"));
    }

    @Test
    void anythingThatCanChangeTheAnswerDoes() throws Exception {
        String base = "{\"model\":\"m\",\"temperature\":0.7,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        String k = key("org:a", base);
        assertNotEquals(k, key("org:b", base), "another tenant");
        assertNotEquals(k, key("org:a", base.replace("\"m\"", "\"m2\"")), "another model");
        assertNotEquals(k, key("org:a", base.replace("0.7", "0.71")));
        assertNotEquals(k, key("org:a", base.replace("hi", "hi ")));
        assertNotEquals(k, key("org:a", base.replace("\"user\"", "\"system\"")));
        assertNotEquals(k, key("org:a", base.replace("}]}", "}],\"seed\":1}")));
        assertNotEquals(k, key("org:a", base.replace("}]}", "}],\"tools\":[]}")));
        assertNotEquals(key("org:a", "{\"model\":\"m\",\"input\":[\"a\",\"b\"]}"), key("org:a", "{\"model\":\"m\",\"input\":[\"b\",\"a\"]}"),
                "array order is content");
        assertNotEquals(key("org:a", "{\"model\":\"m\",\"n\":1}"), key("org:a", "{\"model\":\"m\",\"n\":\"1\"}"), "a string is not a number");
        assertEquals(64, k.length());
        JsonNode b = JSON.readTree(base);
        assertNotEquals(CacheKey.of("org:a", "/v1/chat/completions", "m", b), CacheKey.of("org:a", "/v1/embeddings", "m", b));
    }

    @Test
    void canonicalTextEscapesControlCharactersOneWay() throws Exception {
        assertEquals("{\"a\":[1,2.5,null,false],\"b\":\"x\\u000ay\"}",
                CacheKey.canonical(JSON.readTree("{\"b\":\"x\\ny\",\"a\":[1,2.50,null,false]}")));
    }

    /**
     * README: "numbers by value (0.7, 0.70, 7e-1)". An integral value from 1e18 up to Long.MAX_VALUE
     * gets two keys: written as an integer it is kept as its digits ("1000000000000000000"), written as
     * a decimal it goes through byValue -> decimal(), whose long form stops at 18 digits ("1E+18").
     * (1e19 and 10000000000000000000 do share a key, as do 1e17 and 100000000000000000.)
     */
    @Test
    void anIntegralNumberFrom1e18IsOneValueWhateverItsForm() throws Exception {
        assertEquals(key("org:a", "{\"model\":\"m\",\"seed\":100000000000000000}"), key("org:a", "{\"model\":\"m\",\"seed\":1e17}"), "1e17");
        assertEquals(key("org:a", "{\"model\":\"m\",\"seed\":10000000000000000000}"), key("org:a", "{\"model\":\"m\",\"seed\":1e19}"), "1e19");
        assertEquals(CacheKey.canonical(JSON.readTree("{\"seed\":1000000000000000000}")),
                CacheKey.canonical(JSON.readTree("{\"seed\":1e18}")), "canonical text of one value");
        assertEquals(key("org:a", "{\"model\":\"m\",\"seed\":1000000000000000000}"), key("org:a", "{\"model\":\"m\",\"seed\":1e18}"),
                "1e18: one value, one key");
    }
}
