package io.nemorouter.core.openai;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestBodyTest {

    private static ByteBuf buf(String s) {
        // a reader index past 0 checks that spans are relative to it
        ByteBuf b = Unpooled.buffer();
        b.writeBytes("xx".getBytes(StandardCharsets.UTF_8));
        b.readerIndex(2);
        b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        return b;
    }

    private static String rewritten(String json, String newModel) {
        ByteBuf body = buf(json);
        RequestBody f = new RequestBody();
        assertNull(f.parse(body), "parses");
        BodyEdits edits = new BodyEdits();
        if (newModel != null) {
            edits.replaceWithString(f.modelStart, f.modelEnd, newModel);
        }
        for (int[] span : f.gatewayOnlySpans) {
            edits.remove(span[0], span[1]);
        }
        ByteBuf out = edits.apply(ByteBufAllocator.DEFAULT, body);
        try {
            return out.toString(StandardCharsets.UTF_8);
        } finally {
            out.release();
            body.release();
        }
    }

    @Test
    void largeAndSmallBodiesGiveTheSameSpans() {
        // small bodies are read from a per-thread array, large ones (images) from a copy of their own: both must agree
        String image = "x".repeat(100_000);
        for (String content : new String[]{"hi", image}) {
            String json = "{\"tags\":[\"a\"], \"model\": \"m\" ,\"messages\":[{\"role\":\"user\",\"content\":\"" + content
                    + "\"}],\"nemo_cache\":true}";
            assertEquals("{\"model\": \"renamed\" ,\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}",
                    rewritten(json, "renamed"));
        }
    }

    @Test
    void readsTheFieldsRoutingNeeds() {
        RequestBody f = new RequestBody();
        assertNull(f.parse(buf("{\"model\":\"m1\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"é\"}],\"tags\":[\"vision\"],\"nemo_cache\":false}")));
        assertEquals("m1", f.model);
        assertTrue(f.stream);
        assertTrue(f.includeUsage);
        assertEquals(List.of("vision"), f.tags);
        assertEquals(Boolean.FALSE, f.cache);
    }

    @Test
    void rewritesTheModelInPlace() {
        assertEquals("{\"model\":\"upstream-x\",\"messages\":[]}", rewritten("{\"model\":\"alias\",\"messages\":[]}", "upstream-x"));
        assertEquals("{ \"messages\" : [], \"model\" : \"b\" }", rewritten("{ \"messages\" : [], \"model\" : \"a\" }", "b"));
        assertEquals("{\"messages\":[{\"content\":\"ünïcode\"}],\"model\":\"b\"}",
                rewritten("{\"messages\":[{\"content\":\"ünïcode\"}],\"model\":\"a\"}", "b"));
    }

    @Test
    void removesGatewayOnlyFieldsWhereverTheyStand() {
        assertEquals("{\"model\":\"a\",\"messages\":[]}",
                rewritten("{\"nemo_cache\":false,\"model\":\"a\",\"messages\":[]}", null));
        assertEquals("{\"model\":\"a\",\"messages\":[]}",
                rewritten("{\"model\":\"a\",\"tags\":[\"x\",\"y\"],\"messages\":[]}", null));
        assertEquals("{\"model\":\"a\",\"messages\":[]}",
                rewritten("{\"model\":\"a\",\"messages\":[],\"tags\":[\"x\"],\"nemo_cache\":true}", null));
        assertEquals("{\"model\":\"z\"}", rewritten("{\"tags\":[],\"model\":\"a\",\"nemo_cache\":true}", "z"));
    }

    @Test
    void rejectsWhatIsNotAJsonObject() {
        for (String bad : new String[]{"", "{", "[]", "{\"model\":\"a\"} trailing", "{\"model\":\"a\",}", "nul"}) {
            OpenAiError err = new RequestBody().parse(buf(bad));
            assertNotNull(err, bad);
            assertEquals(400, err.status().code());
        }
    }

    @Test
    void saysWhereTheJsonBreaks() {
        OpenAiError err = new RequestBody().parse(buf("{\"model\":\"a\",\"messages\":[1,]}"));
        assertEquals("The request body is not valid JSON: unexpected ']', expected a value at byte 27.", err.message());
        err = new RequestBody().parse(buf("{\"model\":\"a\",\"messages\":\"\u0001\"}"));
        assertEquals("The request body is not valid JSON: control character in a string (escape it) at byte 25.", err.message());
    }

    @Test
    void rejectsWrongTypes() {
        assertEquals("model", new RequestBody().parse(buf("{\"model\":1}")).param());
        assertEquals("stream", new RequestBody().parse(buf("{\"model\":\"a\",\"stream\":\"yes\"}")).param());
        assertEquals("tags", new RequestBody().parse(buf("{\"model\":\"a\",\"tags\":\"vision\"}")).param());
        RequestBody ok = new RequestBody();
        assertNull(ok.parse(buf("{\"model\":\"a\",\"stream\":null}")));
        assertFalse(ok.stream);
    }
}
