package io.nemorouter.providers.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * A JSON schema (a tool's {@code parameters}, {@code response_format}'s schema) as Gemini's
 * {@code Schema} takes it: Gemini reads a subset of OpenAPI's schema object and refuses the whole
 * request ("Unknown name ...") for a keyword outside it, so the keywords it does not know are left
 * out at every level. What remains means the same; what is left out only loosened the schema
 * ({@code additionalProperties: false}) or documented it.
 */
final class GeminiSchemas {
    /** JSON-schema keywords Gemini's Schema has no field for. */
    private static final Set<String> REJECTED = Set.of("additionalProperties", "$schema", "$id", "$comment", "strict",
            "examples", "const", "contentEncoding", "contentMediaType", "readOnly", "writeOnly", "deprecated",
            "patternProperties", "unevaluatedProperties", "dependentRequired", "dependentSchemas", "if", "then", "else", "not");
    /** Keywords whose value is a map of names to schemas (the names are not keywords). */
    private static final Set<String> SCHEMA_MAPS = Set.of("properties", "$defs", "definitions");
    /** Keywords whose value is one schema or a list of them. */
    private static final Set<String> SCHEMAS = Set.of("items", "anyOf", "oneOf", "allOf", "prefixItems");

    private GeminiSchemas() {
    }

    /** A cleaned copy of {@code schema}. */
    static JsonNode clean(JsonNode schema) {
        if (schema == null || !schema.isObject()) {
            return schema;
        }
        ObjectNode out = ((ObjectNode) schema).objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = schema.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            String keyword = m.getKey();
            JsonNode value = m.getValue();
            if (REJECTED.contains(keyword)) {
                continue;
            }
            if (SCHEMA_MAPS.contains(keyword) && value.isObject()) {
                ObjectNode map = out.putObject(keyword);
                value.fields().forEachRemaining(p -> map.set(p.getKey(), clean(p.getValue())));
            } else if (SCHEMAS.contains(keyword) && value.isArray()) {
                ArrayNode list = out.putArray(keyword);
                value.forEach(v -> list.add(clean(v)));
            } else if (SCHEMAS.contains(keyword)) {
                out.set(keyword, clean(value));
            } else if ("type".equals(keyword) && value.isArray()) {
                // ["string", "null"]: Gemini's type is one name, and null-ness is its own flag
                for (JsonNode t : value) {
                    if ("null".equals(t.asText())) {
                        out.put("nullable", true);
                    } else if (!out.has("type")) {
                        out.set("type", t);
                    }
                }
            } else {
                out.set(keyword, value);
            }
        }
        return out;
    }
}
