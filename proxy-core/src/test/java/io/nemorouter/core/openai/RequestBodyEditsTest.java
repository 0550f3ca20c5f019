package io.nemorouter.core.openai;

import com.fasterxml.jackson.databind.node.TextNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Edits of any top-level member reach the upstream as splices of the original bytes; the fast path stays a view. */
class RequestBodyEditsTest {
    private static RequestBody parsed(String json) {
        return parsed(Unpooled.copiedBuffer(json, StandardCharsets.UTF_8));
    }

    private static RequestBody parsed(ByteBuf buf) {
        RequestBody b = RequestBody.read(buf);
        assertEquals(null, b.error());
        return b;
    }

    private static String render(RequestBody b, String model, boolean usage) {
        ByteBuf out = b.render(ByteBufAllocator.DEFAULT, model, usage);
        try {
            return out.toString(StandardCharsets.UTF_8);
        } finally {
            out.release();
        }
    }

    @Test
    void withoutEditsTheOriginalBytesGoUpstream() {
        String json = "{ \"model\" : \"m\", \"messages\": [] }";
        ByteBuf buf = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
        RequestBody b = parsed(buf);
        ByteBuf out = b.render(ByteBufAllocator.DEFAULT, "m", false);
        assertEquals(json, out.toString(StandardCharsets.UTF_8));
        assertSame(buf, out.unwrap(), "a view of the same buffer");
        out.release();
        assertEquals(1, buf.refCnt(), "the view's reference was its own");
    }

    @Test
    void anyMemberCanBeSetRemovedOrAdded() {
        RequestBody b = parsed("{\"model\":\"m\",\"metadata\":{\"job\":1},\"messages\":[],\"user\":\"u\",\"tags\":[\"x\"]}");
        b.remove("metadata").set("user", TextNode.valueOf("someone \"else\"")).setRaw("seed", "42");
        assertEquals("{\"model\":\"m\",\"messages\":[],\"user\":\"someone \\\"else\\\"\",\"seed\":42}", render(b, null, false));
        assertTrue(b.edited());
    }

    @Test
    void removingTheLastMembersKeepsTheJsonValid() {
        RequestBody b = parsed("{\"messages\":[],\"model\":\"m\",\"metadata\":{},\"nemo_cache\":false}");
        b.remove("metadata");
        assertEquals("{\"messages\":[],\"model\":\"m\"}", render(b, null, false));
        assertThrows(IllegalArgumentException.class, () -> b.remove("model"));
    }

    @Test
    void theUsageEventIsAskedForWithoutLosingTheClientsOtherOptions() {
        assertEquals("{\"model\":\"up\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                render(parsed("{\"model\":\"m\",\"stream\":true,\"tags\":[]}"), "up", true));
        assertEquals("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_obfuscation\":false,\"include_usage\":true}}",
                render(parsed("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_obfuscation\":false}}"), null, true));
        String asked = "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
        assertEquals(asked, render(parsed(asked), null, true), "the client asked already: nothing to change");
    }

    @Test
    void anyMemberIsParsedOnDemandOnceAndTheTreeMatchesWhatGoesUpstream() {
        RequestBody b = parsed("{\"model\":\"m\",\"metadata\":{\"job_id\":\"j1\"},\"tags\":[\"t\"],\"nemo_cache\":true,\"n\":2}");
        assertEquals("j1", b.member("metadata").path("job_id").asText());
        assertSame(b.json(), b.json(), "parsed once");
        b.remove("n");
        var tree = b.renderJson("up", true);
        assertEquals("up", tree.path("model").asText());
        assertFalse(tree.has("tags") || tree.has("nemo_cache") || tree.has("n"), tree.toString());
        assertTrue(tree.at("/stream_options/include_usage").asBoolean());
        assertEquals("m", b.json().path("model").asText(), "the client's tree is left as it came");
    }
}
