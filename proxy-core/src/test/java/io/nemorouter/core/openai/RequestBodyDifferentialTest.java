package io.nemorouter.core.openai;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link RequestBody} walks bodies with its own JSON scanner; it must judge every body as the
 * Jackson-based version before it did ({@link JacksonRequestFields}): the same fields and spans
 * when valid, the same error code and parameter when not. The one intended difference: strings
 * must be strict UTF-8, where Jackson lets overlong forms and encoded surrogates through.
 */
class RequestBodyDifferentialTest {
    private static final String[] SEEDS = {
            "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}",
            "{ \"messages\" : [ { \"role\" : \"system\", \"content\" : \"be brief\" } ] , \"model\" : \"m\" , \"stream\" : true }",
            "{\"model\":\"a\",\"stream\":false,\"stream_options\":{\"include_usage\":true},\"temperature\":0.25,\"n\":1}",
            "{\"tags\":[\"vision\",\"long-context\"],\"model\":\"m\",\"nemo_cache\":false,\"max_tokens\":-12e+3}",
            "{\"model\":\"\\u0067pt\\n\",\"messages\":[{\"content\":\"caf\u00e9 \\ud83d\\ude00 \u4e2d\u6587 \ud83d\ude00\"}],\"x\":null}",
            "{\"mod\\u0065l\":\"escaped-name\",\"stream_options\":null,\"stream\":null,\"tags\":[]}",
            "{\"input\":[\"a\",\"b\"],\"model\":\"text-embedding-004\",\"dimensions\":256,\"encoding_format\":\"float\"}",
            "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
                    + "\"properties\":{\"a\":{\"type\":[\"string\",\"null\"]}},\"required\":[]}}}],\"tool_choice\":\"auto\"}",
            "{\"model\":\"m\",\"logit_bias\":{\"50256\":-100,\"1\":0.5E-2},\"stop\":[\"\\\\\",\"\\\"\",\"\\/\",\"\\b\\f\\r\\t\"]}",
            "\t\r\n{\"nemo_cache\":true}\n",
            "{}",
            "{\"model\":\"m\",\"a\":[[[[{}]]],[],{\"b\":[1,2.5,-0,0e0,true,false,null]}]}",
    };
    /** Bytes the mutations insert: JSON's structure, the starts of tokens, and UTF-8 of every kind. */
    private static final byte[] PALETTE = bytes("{}[]\":,\\/ \n\t019-+.eEtrufalsnxuA", 0x01, 0x1f, 0x7f, 0xc3, 0xa9,
            0xc0, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0xf0, 0x9f, 0x98, 0x80, 0xf5, 0xff);

    @Test
    void agreesWithJacksonOnTheSeeds() {
        for (String seed : SEEDS) {
            compare(seed.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void agreesWithJacksonOnMutatedBodies() {
        Random random = new Random(20261126);
        for (int i = 0; i < 40_000; i++) {
            byte[] b = SEEDS[random.nextInt(SEEDS.length)].getBytes(StandardCharsets.UTF_8);
            int edits = 1 + random.nextInt(3);
            for (int e = 0; e < edits; e++) {
                b = mutate(b, random);
            }
            compare(b);
        }
    }

    @Test
    void agreesWithJacksonOnGeneratedBodies() {
        Random random = new Random(7);
        for (int i = 0; i < 5_000; i++) {
            compare(randomBody(random).getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void agreesWithJacksonOnTheNestingLimit() {
        for (int depth : new int[]{998, 999, 1000, 1001}) {
            compare(("{\"model\":\"m\",\"deep\":" + "[".repeat(depth) + "]".repeat(depth) + "}").getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void rejectsWhatJacksonLetsThroughAsUtf8() {
        // overlong '/', an encoded surrogate, past U+10FFFF: Jackson skips these inside strings
        for (int[] seq : new int[][]{{0xc0, 0xaf}, {0xed, 0xa0, 0x80}, {0xf4, 0x90, 0x80, 0x80}}) {
            byte[] body = bytes("{\"model\":\"m\",\"messages\":\"x", seq);
            body = concat(body, "\"}".getBytes(StandardCharsets.US_ASCII));
            OpenAiError err = new RequestBody().parse(Unpooled.wrappedBuffer(body));
            assertNotNull(err, Arrays.toString(seq));
            assertEquals("invalid_json", err.code());
        }
    }

    private static void compare(byte[] body) {
        OpenAiError expected;
        JacksonRequestFields reference = new JacksonRequestFields();
        RequestBody actual = new RequestBody();
        ByteBuf a = Unpooled.wrappedBuffer(body);
        ByteBuf b = Unpooled.wrappedBuffer(body);
        expected = reference.parse(a);
        OpenAiError got = actual.parse(b);
        String what = show(body);
        if (!strictUtf8(body)) {
            if (got == null) {
                fail("accepted a body that is not UTF-8: " + what);
            }
            return;
        }
        if (expected == null || got == null) {
            if (expected != got) {
                fail((expected == null ? "rejected (" + got.code() + ": " + got.message() + ")" : "accepted")
                        + " what Jackson " + (expected == null ? "accepts" : "rejects (" + expected.message() + ")")
                        + ": " + what);
            }
            assertEquals(reference.model, actual.model, what);
            assertEquals(reference.modelStart, actual.modelStart, what);
            assertEquals(reference.modelEnd, actual.modelEnd, what);
            assertEquals(reference.stream, actual.stream, what);
            assertEquals(reference.includeUsage, actual.includeUsage, what);
            assertEquals(reference.cache, actual.cache, what);
            assertEquals(reference.tags, actual.tags, what);
            assertEquals(spans(reference.gatewayOnlySpans), spans(actual.gatewayOnlySpans), what);
            return;
        }
        assertEquals(expected.code(), got.code(), () -> what + " -> " + got.message() + " / Jackson: " + expected.message());
        assertEquals(expected.param(), got.param(), what);
    }

    private static byte[] mutate(byte[] b, Random r) {
        int at = b.length == 0 ? 0 : r.nextInt(b.length);
        switch (r.nextInt(5)) {
            case 0 -> { // delete a byte
                return b.length == 0 ? b : concat(Arrays.copyOfRange(b, 0, at), Arrays.copyOfRange(b, at + 1, b.length));
            }
            case 1 -> { // insert one
                return concat(Arrays.copyOfRange(b, 0, at), new byte[]{PALETTE[r.nextInt(PALETTE.length)]},
                        Arrays.copyOfRange(b, at, b.length));
            }
            case 2 -> { // replace one
                byte[] c = b.clone();
                if (c.length > 0) {
                    c[at] = PALETTE[r.nextInt(PALETTE.length)];
                }
                return c;
            }
            case 3 -> { // repeat a slice
                int len = Math.min(b.length - at, 1 + r.nextInt(8));
                return concat(Arrays.copyOfRange(b, 0, at + len), Arrays.copyOfRange(b, at, b.length));
            }
            default -> { // cut the end
                return Arrays.copyOfRange(b, 0, at);
            }
        }
    }

    private static String randomBody(Random r) {
        StringBuilder s = new StringBuilder("{");
        String[] names = {"model", "stream", "stream_options", "nemo_cache", "tags", "messages", "temperature", "mod\\u0065l"};
        int members = r.nextInt(6);
        for (int i = 0; i < members; i++) {
            if (i > 0) {
                s.append(r.nextBoolean() ? "," : " ,\n ");
            }
            s.append('"').append(names[r.nextInt(names.length)]).append("\":");
            if (r.nextInt(4) == 0) {
                s.append(' ');
            }
            randomValue(s, r, 0);
        }
        return s.append('}').toString();
    }

    private static void randomValue(StringBuilder s, Random r, int depth) {
        switch (r.nextInt(depth > 3 ? 5 : 7)) {
            case 0 -> s.append(r.nextBoolean() ? "true" : "false");
            case 1 -> s.append("null");
            case 2 -> s.append(new String[]{"0", "-1", "12.5", "1e9", "-0.0E-2", "42"}[r.nextInt(6)]);
            case 3, 4 -> s.append('"').append(new String[]{"gpt-4o", "", "caf\u00e9", "a\\\"b", "\\u00e9\\n", "\ud83d\ude00",
                    "vision"}[r.nextInt(7)]).append('"');
            case 5 -> {
                s.append('[');
                int n = r.nextInt(4);
                for (int i = 0; i < n; i++) {
                    s.append(i > 0 ? "," : "");
                    randomValue(s, r, depth + 1);
                }
                s.append(']');
            }
            default -> {
                s.append('{');
                int n = r.nextInt(3);
                for (int i = 0; i < n; i++) {
                    s.append(i > 0 ? "," : "").append(r.nextBoolean() ? "\"include_usage\":" : "\"k\":");
                    randomValue(s, r, depth + 1);
                }
                s.append('}');
            }
        }
    }

    private static boolean strictUtf8(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    private static List<String> spans(List<int[]> spans) {
        List<String> out = new ArrayList<>();
        for (int[] s : spans) {
            out.add(s[0] + "-" + s[1]);
        }
        return out;
    }

    private static String show(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            int c = x & 0xff;
            s.append(c >= 0x20 && c < 0x7f ? String.valueOf((char) c) : String.format("<%02x>", c));
        }
        return s.toString();
    }

    private static byte[] bytes(String ascii, int... more) {
        byte[] a = ascii.getBytes(StandardCharsets.US_ASCII);
        byte[] out = Arrays.copyOf(a, a.length + more.length);
        for (int i = 0; i < more.length; i++) {
            out[a.length + i] = (byte) more[i];
        }
        return out;
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
