package io.nemorouter.filters.cache;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/** The cache store tests' temporary data directories. */
final class StoreDirs {
    private StoreDirs() {
    }

    /** Closes {@code store} (when open) and deletes {@code dir} with what is in it (when made). */
    static void closeAndDelete(CacheStore store, Path dir) throws IOException {
        if (store != null) {
            store.close();
        }
        if (dir != null) {
            try (var walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
