package io.nemorouter.core.openai;

import io.nemorouter.core.openai.Usage;
import io.nemorouter.core.openai.UsageScanner;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class UsageScannerTest {
    private static ByteBuf buf(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    @Test
    void findsTheUsageOfACompletion() {
        assertEquals(new Usage(12, 34, 46), UsageScanner.scan(buf(
                "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"the word \\\"usage\\\" here\"}}],\"usage\":{\"prompt_tokens\":12,"
                        + "\"completion_tokens\":34,\"total_tokens\":46,\"prompt_tokens_details\":{\"cached_tokens\":0}}}")));
    }

    @Test
    void skipsNullUsageAndTakesTheRealOneBeforeIt() {
        assertEquals(new Usage(5, 0, 5), UsageScanner.scan(buf(
                "{\"usage\": {\"prompt_tokens\": 5, \"total_tokens\": 5}, \"x\": {\"usage\": null}}")));
    }

    @Test
    void readsAcrossCompositeComponents() {
        CompositeByteBuf c = Unpooled.compositeBuffer();
        c.addComponent(true, buf("{\"choices\":[],\"us"));
        c.addComponent(true, buf("age\":{\"prompt_tokens\":7,\"comp"));
        c.addComponent(true, buf("letion_tokens\":3}}"));
        assertEquals(new Usage(7, 3, 10), UsageScanner.scan(c));
    }

    @Test
    void readsAnthropicStyleNamesAndSkipsNestedDetails() {
        assertEquals(new Usage(10, 20, 30), UsageScanner.scan(buf(
                "{\"usage\":{\"input_tokens\":10,\"cache\":{\"a\":[1,{\"b\":\"}\"}]},\"note\":\"x,\\\"y\",\"output_tokens\":20,\"flag\":true}}")));
    }

    @Test
    void fallsBackToJacksonForWhatTheFastPathDoesNotRead() {
        // an escaped key and a float are outside the flat reader; Jackson still finds the counts
        assertEquals(new Usage(3, 4, 7), UsageScanner.scan(buf(
                "{\"usage\":{\"pro\\u006dpt\":1.5,\"prompt_tokens\":3,\"completion_tokens\":4}}")));
    }

    @Test
    void noUsageIsNull() {
        assertNull(UsageScanner.scan(buf("{\"choices\":[]}")));
        assertNull(UsageScanner.scan(buf("{\"usage\":null}")));
        assertNull(UsageScanner.scan(buf("")));
    }

    @Test
    void readsThePromptsCachedTokensFromItsDetails() {
        assertEquals(new Usage(2006, 300, 2306, 1920), UsageScanner.scan(buf(
                "{\"usage\":{\"prompt_tokens\":2006,\"completion_tokens\":300,\"total_tokens\":2306,"
                        + "\"prompt_tokens_details\":{\"cached_tokens\":1920,\"audio_tokens\":0},"
                        + "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"cached_tokens\":7}}}")));
        // the Responses API's names, and the same through Jackson (a float elsewhere in the object)
        assertEquals(new Usage(50, 5, 55, 40), UsageScanner.scan(buf(
                "{\"usage\":{\"input_tokens\":50,\"input_tokens_details\":{\"cached_tokens\":40},\"output_tokens\":5}}")));
        assertEquals(new Usage(50, 5, 55, 40), UsageScanner.scan(buf(
                "{\"usage\":{\"x\":0.5,\"prompt_tokens\":50,\"prompt_tokens_details\":{\"cached_tokens\":40},\"completion_tokens\":5}}")));
        assertEquals(new Usage(9, 1, 10, 0), UsageScanner.scan(buf(
                "{\"usage\":{\"prompt_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":null},\"completion_tokens\":1}}")));
    }

    @Test
    void anthropicsCacheWritesAreReadBesideTheCachedReads() {
        Usage u = UsageScanner.scan(buf("{\"usage\":{\"prompt_tokens\":2100,\"completion_tokens\":10,\"total_tokens\":2110,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":0},\"cache_creation_input_tokens\":2048}}"));
        assertEquals(2048, u.cacheWriteTokens());
        assertEquals(2100, u.promptTokens());
        // the same when the object is too odd for the flat reader and Jackson reads it
        Usage viaJackson = UsageScanner.scan(buf("{\"usage\":{\"prompt_tokens\":2100,\"completion_tokens\":10,\"x\":1.5e3,"
                + "\"cache_creation_input_tokens\":2048}}"));
        assertEquals(2048, viaJackson.cacheWriteTokens());
    }
}
