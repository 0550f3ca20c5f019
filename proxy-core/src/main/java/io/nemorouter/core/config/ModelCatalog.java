package io.nemorouter.core.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The models clients may ask for, by name. A name can have several deployments (a real
 * upstream first, the mock behind it); routing takes the first until balancing and
 * fallback arrive. Immutable after start-up, so any event loop may read it.
 */
public final class ModelCatalog {
    private final Map<String, List<Deployment>> byName;

    public ModelCatalog(List<Deployment> deployments) {
        Map<String, List<Deployment>> map = new LinkedHashMap<>();
        for (Deployment d : deployments) {
            map.computeIfAbsent(d.name(), n -> new ArrayList<>()).add(d);
        }
        map.replaceAll((name, list) -> List.copyOf(list));
        this.byName = Collections.unmodifiableMap(map);
    }

    /** The deployments serving {@code name}, in configured order; empty when unknown. */
    public List<Deployment> deployments(String name) {
        List<Deployment> list = byName.get(name);
        return list == null ? List.of() : list;
    }

    public Iterable<String> names() {
        return byName.keySet();
    }

    public List<Deployment> all() {
        List<Deployment> all = new ArrayList<>();
        byName.values().forEach(all::addAll);
        return all;
    }

    public boolean isEmpty() {
        return byName.isEmpty();
    }
}
