package io.nemorouter.providers.translate;

import com.fasterxml.jackson.databind.JsonNode;

/** Reading OpenAI request members whose shape varies. */
public final class Texts {
    private Texts() {
    }

    /**
     * The text of a message's {@code content}: a string, or the {@code text} of its text parts joined;
     * "" when absent or null.
     */
    public static String of(JsonNode content) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.asText();
        }
        StringBuilder b = new StringBuilder();
        if (content.isArray()) {
            for (JsonNode part : content) {
                if (part.path("text").isTextual()) {
                    b.append(part.get("text").asText());
                }
            }
        }
        return b.toString();
    }

    /** {@code stop} as a list: a string or an array of strings. */
    public static java.util.List<String> stops(JsonNode stop) {
        java.util.List<String> out = new java.util.ArrayList<>();
        if (stop == null || stop.isNull()) {
            return out;
        }
        if (stop.isTextual()) {
            out.add(stop.asText());
        } else if (stop.isArray()) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw Fidelity.invalid("stop", "'stop' must be a string or an array of strings.");
                }
                out.add(s.asText());
            }
        } else {
            throw Fidelity.invalid("stop", "'stop' must be a string or an array of strings.");
        }
        return out;
    }

    /**
     * A tool call's {@code arguments} (JSON text) as the object the provider wants; empty text is no
     * arguments. Text that is not a JSON object is a 400 naming {@code provider}.
     */
    public static com.fasterxml.jackson.databind.node.ObjectNode toolArguments(String text, String provider) {
        if (text.isBlank()) {
            return io.nemorouter.core.openai.OpenAiJson.MAPPER.createObjectNode();
        }
        try {
            if (io.nemorouter.core.openai.OpenAiJson.MAPPER.readTree(text) instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
                return o;
            }
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            // below
        }
        throw Fidelity.invalid("messages[].tool_calls", "A tool call's arguments must be a JSON object for " + provider + ": "
                + (text.length() <= 80 ? text : text.substring(0, 80) + "…"));
    }
}
