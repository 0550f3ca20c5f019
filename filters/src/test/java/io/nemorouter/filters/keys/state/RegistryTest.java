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

    /**
     * Cluster mode reads every record again now and then; a read begun before a change made here (a
     * delete, a rotation) must not undo it: a revoked secret stays revoked.
     */
    @Test
    void aFullReadBegunBeforeALocalChangeDoesNotUndoIt() {
        try (ChronicleKeyStore store = ChronicleKeyStore.open(dir, 1000)) {
            Registry r = new Registry(store, KeysClock.SYSTEM);
            r.putKey(key("k1", "h1", 10));
            r.putKey(key("k2", "h2", 10));
            long readStarted = System.nanoTime();
            Map<String, KeyRecord> snapshot = Map.of("h1", key("k1", "h1", 10), "h2", key("k2", "h2", 10));
            r.removeKey("h1");
            r.rotateKey("h2", key("k2", "h2b", 20));
            r.reloaded(snapshot, Map.of(), Map.of(), Map.of(), readStarted);
            assertNull(r.keyByHash("h1"), "the deleted key is not brought back by an older read");
            assertNull(r.keyByHash("h2"), "the rotated-out secret stays dead");
            assertNotNull(r.keyByHash("h2b"));

            // a read begun after the changes applies: a key it no longer holds goes
            r.putKey(key("k3", "h3", 10));
            long later = System.nanoTime();
            r.reloaded(Map.of("h2b", key("k2", "h2b", 20)), Map.of(), Map.of(), Map.of(), later);
            assertNull(r.keyByHash("h3"), "deleted elsewhere, found missing by a newer read");
            assertNotNull(r.keyByHash("h2b"));
        }
    }
}
