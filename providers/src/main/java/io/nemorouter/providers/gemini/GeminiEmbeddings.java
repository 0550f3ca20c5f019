package io.nemorouter.providers.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.core.provider.ResponseTranslator;
import io.nemorouter.providers.translate.Fidelity;
import io.nemorouter.providers.translate.JsonBodies;
import io.netty.buffer.ByteBuf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * OpenAI embeddings requests in Google's shapes, and their answers back: one string to the Gemini
 * API's {@code :embedContent}, several to {@code :batchEmbedContents} (one request each, each naming
 * the model as the API wants), and on Vertex AI any number to {@code :predict} as
 * {@code instances}. {@code dimensions} is {@code outputDimensionality}; the answer is OpenAI's list,
 * each vector as floats or, for {@code encoding_format: base64}, as OpenAI sends it (base64 of
 * little-endian float32). The Gemini API counts no tokens for embeddings: the prompt is then taken as
 * four characters a token.
 */
final class GeminiEmbeddings {
    /** The Google method an embeddings request goes to. */
    enum Method {
        EMBED("embedContent"), BATCH("batchEmbedContents"), PREDICT("predict");

        final String path;

        Method(String path) {
            this.path = path;
        }
    }

    /** What the answer needs to know of its request. */
    record Plan(Method method, int inputs, boolean base64, long characters) {
    }

    /** OpenAI's members read here; any other is Google's (taskType, title) and goes with each text. */
    private static final Set<String> HANDLED = Set.of("model", "input", "dimensions", "encoding_format", "user",
            "tags", "nemo_cache", "nemo_cache_ttl");
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private GeminiEmbeddings() {
    }

    /** The texts of {@code input}: a string, or an array of strings. */
    private static List<String> texts(JsonNode input) {
        List<String> out = new ArrayList<>();
        if (input != null && input.isTextual()) {
            out.add(input.asText());
        } else if (input != null && input.isArray() && !input.isEmpty()) {
            for (JsonNode t : input) {
                if (!t.isTextual()) {
                    throw Fidelity.invalid("input", "Gemini embeds text: 'input' must be a string or an array of strings (not token ids).");
                }
                out.add(t.asText());
            }
        } else {
            throw Fidelity.invalid("input", "Missing required parameter: 'input' (a string or an array of strings).");
        }
        return out;
    }

    static Plan plan(ObjectNode in, boolean vertex) {
        List<String> texts = texts(in.get("input"));
        String format = in.path("encoding_format").asText("float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw Fidelity.invalid("encoding_format", "encoding_format must be float or base64.");
        }
        long characters = 0;
        for (String t : texts) {
            characters += t.length();
        }
        Method method = vertex ? Method.PREDICT : in.get("input").isTextual() ? Method.EMBED : Method.BATCH;
        return new Plan(method, texts.size(), format.equals("base64"), characters);
    }

    /** The request body for {@code plan}; {@code modelName} is the model as Google names it ({@code models/...}). */
    static ObjectNode encode(ObjectNode in, Plan plan, String modelName) {
        List<String> texts = texts(in.get("input"));
        JsonNode dimensions = in.get("dimensions");
        ObjectNode out = NODES.objectNode();
        switch (plan.method()) {
            case EMBED -> {
                out.putObject("content").putArray("parts").addObject().put("text", texts.get(0));
                own(in, out);
                if (dimensions != null && !dimensions.isNull()) {
                    out.set("outputDimensionality", dimensions);
                }
            }
            case BATCH -> {
                ArrayNode requests = out.putArray("requests");
                for (String t : texts) {
                    ObjectNode r = requests.addObject();
                    r.put("model", modelName);
                    r.putObject("content").putArray("parts").addObject().put("text", t);
                    own(in, r);
                    if (dimensions != null && !dimensions.isNull()) {
                        r.set("outputDimensionality", dimensions);
                    }
                }
            }
            case PREDICT -> {
                ArrayNode instances = out.putArray("instances");
                for (String t : texts) {
                    ObjectNode instance = instances.addObject().put("content", t);
                    if (in.hasNonNull("taskType")) {
                        instance.set("task_type", in.get("taskType"));
                    }
                    if (in.hasNonNull("title")) {
                        instance.set("title", in.get("title"));
                    }
                }
                if (dimensions != null && !dimensions.isNull()) {
                    out.putObject("parameters").set("outputDimensionality", dimensions);
                }
            }
        }
        return out;
    }

    /** Google's own members of the request (taskType, title), as they are. */
    private static void own(ObjectNode in, ObjectNode out) {
        for (Iterator<Map.Entry<String, JsonNode>> it = in.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            if (!HANDLED.contains(m.getKey()) && !m.getValue().isNull()) {
                out.set(m.getKey(), m.getValue());
            }
        }
    }

    /** Google's embeddings answer as OpenAI's. */
    static final class Translator implements ResponseTranslator {
        private final Supplier<Plan> plan;
        private final String provider;

        /** {@code plan} is read when the answer comes: the request is encoded after the translator is made. */
        Translator(Supplier<Plan> plan, String provider) {
            this.plan = plan;
            this.provider = provider;
        }

        @Override
        public ByteBuf body(Exchange exchange, int status, ByteBuf body) {
            try {
                JsonNode in = JsonBodies.read(body);
                ObjectNode out = status / 100 == 2 ? list(in, plan.get(), exchange.body().model())
                        : GeminiTranslator.error(status, in, provider);
                return JsonBodies.write(exchange.alloc(), out);
            } finally {
                body.release();
            }
        }
    }

    static ObjectNode list(JsonNode in, Plan plan, String model) {
        List<JsonNode> vectors = new ArrayList<>();
        long tokens = 0;
        switch (plan.method()) {
            case EMBED -> vectors.add(in.path("embedding").path("values"));
            case BATCH -> in.path("embeddings").forEach(e -> vectors.add(e.path("values")));
            case PREDICT -> {
                for (JsonNode p : in.path("predictions")) {
                    vectors.add(p.path("embeddings").path("values"));
                    tokens += p.path("embeddings").path("statistics").path("token_count").asLong(0);
                }
            }
        }
        if (tokens == 0) {
            tokens = Math.max(1, (plan.characters() + 3) / 4); // Google said nothing: four characters a token
        }
        ObjectNode out = OpenAiJson.MAPPER.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        for (int i = 0; i < vectors.size(); i++) {
            ObjectNode e = data.addObject();
            e.put("object", "embedding");
            e.put("index", i);
            if (plan.base64()) {
                e.put("embedding", base64(vectors.get(i)));
            } else {
                e.set("embedding", vectors.get(i));
            }
        }
        out.put("model", model);
        out.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        return out;
    }

    /** A vector as OpenAI's base64 encoding: little-endian float32s. */
    static String base64(JsonNode values) {
        ByteBuffer b = ByteBuffer.allocate(values.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (JsonNode v : values) {
            b.putFloat((float) v.asDouble());
        }
        return Base64.getEncoder().encodeToString(b.array());
    }
}
