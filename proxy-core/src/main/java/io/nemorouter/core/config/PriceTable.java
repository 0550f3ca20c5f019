package io.nemorouter.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The bundled price table ({@code nemo/prices.conf} in the jar): list prices, context windows and
 * maximum outputs of the common OpenAI, Gemini / Vertex AI and Anthropic models, by model name.
 * Read once; a catalog entry without prices of its own takes them from here by its {@code model}.
 */
public final class PriceTable {
    private static final String RESOURCE = "nemo/prices.conf";
    /** A trailing date or version: -2024-08-06, -20250514, @20250514, -latest, -001, -preview-05-06. */
    private static final Pattern SUFFIX = Pattern.compile(
            "(@.*|-\\d{4}-\\d{2}-\\d{2}|-\\d{8}|-latest|-\\d{3}|-preview(-\\d{2}-\\d{2})?|-exp(-\\d{4})?)$");

    private static volatile PriceTable bundled;

    private final Map<String, Pricing> byModel;
    private final String asOf;

    PriceTable(Config table) {
        Map<String, Pricing> map = new HashMap<>();
        ConfigObject models = table.getObject("models");
        for (String name : models.keySet()) {
            Config m = models.toConfig().getConfig("\"" + name + "\"");
            double input = m.getDouble("input");
            Pricing.LongContext lc = null;
            if (m.hasPath("long_context")) {
                Config l = m.getConfig("long_context");
                lc = new Pricing.LongContext(l.getLong("above"), l.getDouble("input"),
                        l.hasPath("cached_input") ? l.getDouble("cached_input") : l.getDouble("input"), l.getDouble("output"));
            }
            map.put(name.toLowerCase(Locale.ROOT), new Pricing(input,
                    m.hasPath("cached_input") ? m.getDouble("cached_input") : input, m.getDouble("output"), lc,
                    m.getLong("context_window"), m.getLong("max_output"), "table",
                    m.hasPath("cache_write") ? m.getDouble("cache_write") : input));
        }
        this.byModel = Map.copyOf(map);
        this.asOf = table.getString("prices_as_of");
    }

    /** The table in the jar. */
    public static PriceTable bundled() {
        PriceTable t = bundled;
        if (t == null) {
            t = new PriceTable(ConfigFactory.parseResources(PriceTable.class.getClassLoader(), RESOURCE).resolve());
            bundled = t;
        }
        return t;
    }

    /** The date the table's prices were written down. */
    public String asOf() {
        return asOf;
    }

    public int size() {
        return byModel.size();
    }

    /**
     * The pricing of {@code model}, or null when the table does not know it. Tries the name as given,
     * without a {@code models/} or {@code provider/} prefix, then without a date or version suffix,
     * repeatedly ({@code gemini-2.0-flash-001}, {@code claude-sonnet-4-5-20250929}, {@code gpt-4o-2024-08-06}).
     */
    public Pricing find(String model) {
        if (model == null) {
            return null;
        }
        String name = model.toLowerCase(Locale.ROOT);
        int slash = name.lastIndexOf('/');
        if (slash >= 0) {
            Pricing p = byModel.get(name);
            if (p != null) {
                return p;
            }
            name = name.substring(slash + 1);
        }
        for (int i = 0; i < 4; i++) {
            Pricing p = byModel.get(name);
            if (p != null) {
                return p;
            }
            String shorter = SUFFIX.matcher(name).replaceFirst("");
            if (shorter.equals(name)) {
                return null;
            }
            name = shorter;
        }
        return null;
    }
}
