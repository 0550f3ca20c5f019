package io.nemorouter.filters.keys.state;

import io.nemorouter.filters.keys.store.ChronicleKeyStore;
import io.nemorouter.filters.keys.store.KeyRecord;
import io.nemorouter.filters.keys.store.Limits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

class RegistryTest {
    @TempDir
    Path dir;

    private static KeyRecord key(String id, String hash, long updatedAt) {
        return new KeyRecord(id, hash, "sk-nemo-ab…", null, null, List.of(), Limits.NONE, List.of(), Map.of(), null, false, 1, updatedAt);
    }

    @Test
    void aRotationCutShortByACrashKeepsOnlyTheNewerSecret() {
        try (ChronicleKeyStore store = ChronicleKeyStore.open(dir, 1000)) {
            store.putKey(key("k1", "old", 10));
            store.putKey(key("k1", "new", 20)); // the crash came before the old record was deleted
            store.putKey(key("k2", "other", 5));
            Registry r = new Registry(store, KeysClock.SYSTEM);
            assertNotNull(r.keyByHash("new"));
            assertNull(r.keyByHash("old"), "the old secret no longer works");
            assertNotNull(r.keyByHash("other"), "other keys are untouched");
            assertEquals(2, store.keys().size());
        }
    }
}
