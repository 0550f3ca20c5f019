package io.nemorouter.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;

import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Stops start-up on a key nobody reads: a typo ({@code nemo.server.prot}) must not pass for a
 * setting that silently keeps its default. Every key under {@code nemo} must exist in a
 * {@code reference.conf} (the core's or an extension's), or be an extension's name or its
 * {@code enabled}; a block that is empty in {@code reference.conf} is a map the user fills
 * ({@code headers {}}) and takes any keys. Catalog entries take the common keys, their provider's
 * and the extensions'. The error names the file, line and key, and the nearest known key.
 */
public final class ConfigCheck {
    private ConfigCheck() {
    }

    /**
     * @param extensions the names of every extension found (enabled or not), whose blocks may be
     *                   set even when they ship no defaults
     */
    public static void unknownKeys(GatewayConfig config, Set<String> extensions) {
        ConfigObject user = config.root.getObject("nemo");
        ConfigObject reference = config.reference.hasPath("nemo") ? config.reference.getObject("nemo") : null;
        walk(user, reference, "nemo", extensions, false);
    }

    private static void walk(ConfigObject user, ConfigObject reference, String path, Set<String> extensions,
                             boolean extensionBlock) {
        for (var e : user.entrySet()) {
            String key = e.getKey();
            if (path.equals("nemo") && key.equals("models")) {
                continue; // checked entry by entry, with each entry's provider (see catalogKeys)
            }
            ConfigValue value = e.getValue();
            ConfigValue known = reference == null ? null : reference.get(key);
            boolean isExtension = path.equals("nemo") && extensions.contains(key);
            if (known == null && !isExtension && !(extensionBlock && key.equals("enabled"))) {
                Set<String> siblings = new TreeSet<>(reference == null ? Set.of() : reference.keySet());
                if (path.equals("nemo")) {
                    siblings.addAll(extensions);
                }
                if (extensionBlock) {
                    siblings.add("enabled");
                }
                throw ConfigError.at(value.origin(), path + "." + quoted(key), unknown(key, siblings, path));
            }
            if (value instanceof ConfigObject object) {
                if (known instanceof ConfigObject knownObject) {
                    if (!knownObject.isEmpty() || isExtension) {
                        walk(object, knownObject, path + "." + quoted(key), extensions, isExtension);
                    }
                } else if (isExtension) {
                    walk(object, null, path + "." + quoted(key), extensions, true);
                }
            }
        }
    }

    /**
     * Checks each catalog entry's keys against the common ones, those its provider declares
     * ({@code providerKeys}, by provider name) and those extensions declare.
     */
    public static void catalogKeys(List<Deployment> deployments, Function<String, Set<String>> providerKeys,
                                   Set<String> extensionKeys) {
        for (Deployment d : deployments) {
            Set<String> allowed = new TreeSet<>(GatewayConfig.COMMON_MODEL_KEYS);
            allowed.addAll(providerKeys.apply(d.provider()));
            allowed.addAll(extensionKeys);
            Config entry = d.settings();
            for (String key : entry.root().keySet()) {
                if (!allowed.contains(key)) {
                    throw ConfigError.at(entry.getValue(quoted(key)).origin(), d.path() + "." + key,
                            "unknown key for provider " + d.provider() + suggestion(key, allowed));
                }
            }
        }
    }

    private static String unknown(String key, Collection<String> known, String path) {
        if (path.equals("nemo") && key.equals("pipeline")) {
            return "unknown key: filters now come from extensions, each with its own block (see \"Extending Nemo Router\" in the README)";
        }
        return "unknown key" + suggestion(key, known);
    }

    /** {@code ; did you mean "port"?} for a near miss, else the known keys. */
    static String suggestion(String key, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(key.toLowerCase(), k.toLowerCase());
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        int allowed = Math.max(1, Math.min(3, key.length() / 3));
        if (best != null && bestDistance <= allowed) {
            return "; did you mean \"" + best + "\"?";
        }
        return known.isEmpty() ? " (this block takes no keys)" : " (known: " + String.join(", ", new TreeSet<>(known)) + ")";
    }

    /** Edit distance with adjacent transpositions (optimal string alignment): "prot" is one edit from "port". */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /** A key as a path element: quoted when it holds characters HOCON paths do not take as they are. */
    private static String quoted(String key) {
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (!(Character.isLetterOrDigit(c) || c == '_' || c == '-')) {
                return "\"" + key.replace("\"", "\\\"") + "\"";
            }
        }
        return key;
    }
}
