package io.nemorouter.filters.keys.store;

import io.nemorouter.filters.store.StoreException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChronicleKeyStoreTest {
    @TempDir
    Path dir;

    private static KeyRecord key(String hash) {
        return new KeyRecord("id-" + hash, hash, "sk-nemo-ab…", "alias", null, List.of(), Limits.NONE, List.of(),
                Map.of("job", "x"), null, false, 1, 1);
    }

    @Test
    void recordsAndSpendSurviveACleanCloseAndTheMarkerGoes() {
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            s.putKey(key("aa"));
            s.putTeam(new TeamRecord("t", null, null, List.of(), new Limits(5.0, "1d", 10L, null, null, null, null), Map.of(), false, 1, 1));
            s.addSpend("key:id-aa", 100, 200, 7);
            s.addSpend("key:id-aa", 100, 200, 5);
            s.addSpend("key:id-aa", 200, 300, 1); // a new period
            assertTrue(Files.exists(dir.resolve("keys.open")));
        }
        assertFalse(Files.exists(dir.resolve("keys.open")), "closed cleanly");
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            assertEquals("alias", s.keys().get("aa").alias());
            assertEquals(Map.of("job", "x"), s.keys().get("aa").metadata());
            assertEquals(10L, s.teams().get("t").limits().rpmLimit());
            assertEquals(new SpendRecord(200, 300, 1, 13), s.spend().get("key:id-aa"));
        }
    }

    @Test
    void aLedgerEntryTornByAKillLeavesTheLedgerAsItWasOneWriteBefore() throws Exception {
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            s.addSpend("team:t", 100, 200, 7);  // sequence 1, entry #1
            s.addSpend("team:t", 100, 200, 5);  // sequence 2, entry #0
        }
        // a kill in the middle of the third write (sequence 3, over entry #1) leaves it half written: the new
        // sequence number, sums half new, half old, and a CRC that no longer matches
        try (var ledgers = ChronicleKeyStore.openLedgers(dir, false, 1000)) {
            byte[] torn = ChronicleKeyStore.Slot.encode(new SpendRecord(100, 200, 13, 13), 3);
            torn[20] ^= 0x5a;
            ledgers.put("team:t#1", torn);
        }
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            assertEquals(new SpendRecord(100, 200, 12, 12), s.spend().get("team:t"), "the last whole entry");
            s.addSpend("team:t", 100, 200, 1); // written over the torn entry
            assertEquals(new SpendRecord(100, 200, 13, 13), s.spend().get("team:t"));
        }
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            assertEquals(new SpendRecord(100, 200, 13, 13), s.spend().get("team:t"), "and so after a restart");
            s.deleteSpend("team:t");
            assertEquals(null, s.spend().get("team:t"));
        }
    }

    @Test
    void ledgersFromTheOldOneEntryFileAreMovedIntoTheNewOne() throws Exception {
        try (var old = ChronicleKeyStore.openOldSpend(dir, false, 1000)) {
            old.put("org:acme", java.nio.ByteBuffer.allocate(32).putLong(100).putLong(200).putLong(9).putLong(40).array());
        }
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            assertEquals(new SpendRecord(100, 200, 9, 40), s.spend().get("org:acme"));
            s.addSpend("org:acme", 100, 200, 1);
        }
        assertFalse(Files.exists(dir.resolve("keys-spend.dat")), "the old file is gone");
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            assertEquals(new SpendRecord(100, 200, 10, 41), s.spend().get("org:acme"));
        }
        // an older version started in between and wrote the old file again: its ledger is the newer one
        try (var old = ChronicleKeyStore.openOldSpend(dir, false, 1000)) {
            old.put("org:acme", java.nio.ByteBuffer.allocate(32).putLong(100).putLong(200).putLong(15).putLong(46).array());
        }
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            assertEquals(new SpendRecord(100, 200, 15, 46), s.spend().get("org:acme"));
        }
    }

    @Test
    void twoEventLoopsSettlingOneLedgerAtOnceLoseNoSpend() throws Exception {
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            Thread[] loops = new Thread[2];
            for (int t = 0; t < loops.length; t++) {
                loops[t] = new Thread(() -> {
                    for (int i = 0; i < 20_000; i++) {
                        s.addSpend("org:acme", 100, 200, 1);
                    }
                });
                loops[t].start();
            }
            for (Thread t : loops) {
                t.join();
            }
            assertEquals(new SpendRecord(100, 200, 40_000, 40_000), s.spend().get("org:acme"));
        }
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            assertEquals(new SpendRecord(100, 200, 40_000, 40_000), s.spend().get("org:acme"));
        }
    }

    @Test
    void aSecondGatewayOnTheSameDirectoryIsRefused() {
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            StoreException e = assertThrows(StoreException.class, () -> ChronicleKeyStore.open(dir, 1000));
            assertTrue(e.getMessage().contains("in use by another gateway"), e.getMessage());
        }
    }

    @Test
    void aStoreLeftOpenIsRecoveredWithItsRecords() throws Exception {
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            s.putKey(key("bb"));
        }
        Files.writeString(dir.resolve("keys.open"), "12345"); // as a killed process leaves it
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 1000)) {
            assertEquals("id-bb", s.keys().get("bb").id());
        }
    }

    @Test
    void anUnreadableFileStopsStartWithItsName() throws Exception {
        Files.write(dir.resolve("keys-records.dat"), new byte[4096]);
        StoreException e = assertThrows(StoreException.class, () -> ChronicleKeyStore.open(dir, 1000));
        assertTrue(e.getMessage().contains("keys-records.dat"), e.getMessage());
    }

    @Test
    void aFullStoreRefusesANewRecord() {
        try (ChronicleKeyStore s = ChronicleKeyStore.open(dir, 100)) {
            for (int i = 0; i < 100; i++) {
                s.putKey(key("k" + i));
            }
            s.putKey(key("k5")); // replacing one is fine
            StoreException e = assertThrows(StoreException.class, () -> s.putKey(key("one-more")));
            assertTrue(e.getMessage().contains("store_entries"), e.getMessage());
        }
    }
}
