package io.nemorouter.providers.standin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The stand-ins' deterministic model, whatever API it is reached through: it echoes the last user
 * text (and says how many images it saw and what a tool returned), calls a tool when offered one
 * (arguments made from the tool's schema), counts about four characters a token, and fails as its
 * model name says ({@code -fail-NNN}, {@code -midstream-error}, {@code -midstream-cut}).
 */
final class FakeModel {
    private static final Pattern FAIL = Pattern.compile("-fail-(\\d{3})");

    private FakeModel() {
    }

    /** The status a model name asks for ({@code claude-x-fail-529}), or 0. */
    static int failStatus(String model) {
        Matcher m = FAIL.matcher(model == null ? "" : model);
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    static boolean breaksMidStream(String model) {
        return model != null && model.contains("-midstream-error");
    }

    /** Whether the model's stream just stops after its first words, without its last event ({@code -midstream-cut}). */
    static boolean cutsMidStream(String model) {
        return model != null && model.contains("-midstream-cut");
    }

    static String answer(String model, String lastUser, int images, String toolResult) {
        StringBuilder b = new StringBuilder("This is a mock answer from ").append(model).append(".");
        if (toolResult != null) {
            b.append(" The tool said: ").append(toolResult.trim()).append(".");
        }
        if (images > 0) {
            b.append(" I see ").append(images).append(images == 1 ? " image." : " images.");
        }
        b.append(" You said: ").append(lastUser.trim());
        return b.toString();
    }

    static long tokens(String text) {
        return Math.max(1, (text.length() + 3) / 4);
    }

    /** The words of {@code text}, each with the space before it (but the first): pieces of a stream. */
    static List<String> pieces(String text) {
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int i = 1; i <= text.length(); i++) {
            if (i == text.length() || text.charAt(i) == ' ') {
                out.add(text.substring(from, i));
                from = i;
            }
        }
        return out;
    }

    /** Arguments for a tool whose JSON schema is {@code schema}: each required property (else each property) a plain value of its type. */
    static ObjectNode arguments(JsonNode schema) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        JsonNode props = schema == null ? null : schema.get("properties");
        if (props == null || !props.isObject()) {
            return out;
        }
        List<String> names = new ArrayList<>();
        JsonNode required = schema.get("required");
        if (required != null && required.isArray() && !required.isEmpty()) {
            required.forEach(r -> names.add(r.asText()));
        } else {
            props.fieldNames().forEachRemaining(names::add);
        }
        for (String name : names) {
            JsonNode p = props.path(name);
            JsonNode enumeration = p.get("enum");
            if (enumeration != null && enumeration.isArray() && !enumeration.isEmpty()) {
                out.set(name, enumeration.get(0));
                continue;
            }
            switch (p.path("type").asText("string").toLowerCase(java.util.Locale.ROOT)) {
                case "number", "integer" -> out.put(name, 1);
                case "boolean" -> out.put(name, true);
                case "object" -> out.set(name, arguments(p));
                case "array" -> out.putArray(name);
                default -> out.put(name, "mock " + name);
            }
        }
        return out;
    }

    /** {@code text} cut at the first of {@code stops}, or null when none is in it. */
    static String cutAtStop(String text, Iterator<JsonNode> stops) {
        int cut = -1;
        while (stops.hasNext()) {
            String s = stops.next().asText();
            int at = s.isEmpty() ? -1 : text.indexOf(s);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        return cut < 0 ? null : text.substring(0, cut);
    }
}
