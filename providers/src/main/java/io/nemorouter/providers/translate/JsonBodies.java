package io.nemorouter.providers.translate;

import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.core.openai.OpenAiJson;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;

import java.io.IOException;
import java.io.UncheckedIOException;

/** Whole JSON bodies of a translating provider: the request it encodes, the answer it reads. */
public final class JsonBodies {
    private JsonBodies() {
    }

    /** {@code json} as a new buffer (owned by the caller). */
    public static ByteBuf write(ByteBufAllocator alloc, JsonNode json) {
        ByteBuf out = alloc.buffer(512);
        try {
            OpenAiJson.MAPPER.writeValue((java.io.OutputStream) new ByteBufOutputStream(out), json);
            return out;
        } catch (IOException e) {
            out.release();
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The JSON of {@code body} (not consumed, not released); an empty object when it is not JSON
     * (an HTML error page of a proxy on the way, say): such an answer is described by its status alone.
     */
    public static JsonNode read(ByteBuf body) {
        try {
            if (body.hasArray()) {
                return OpenAiJson.MAPPER.readTree(body.array(), body.arrayOffset() + body.readerIndex(), body.readableBytes());
            }
            return OpenAiJson.MAPPER.readTree((java.io.InputStream) new ByteBufInputStream(body.duplicate()));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            return OpenAiJson.MAPPER.createObjectNode();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
