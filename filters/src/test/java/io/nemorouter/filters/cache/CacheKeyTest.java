package io.nemorouter.filters.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class CacheKeyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static String key(String scope, String body) throws Exception {
        JsonNode b = JSON.readTree(body);
        return CacheKey.of(scope, "/v1/chat/completions", b.path("model").asText(), b);
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
        StringBuilder a = new StringBuilder();
        CacheKey.write(a, JSON.readTree("{\"b\":\"x\\ny\",\"a\":[1,2.50,null,false]}"));
        assertEquals("{\"a\":[1,2.5,null,false],\"b\":\"x\\u000ay\"}", a.toString());
    }
}
