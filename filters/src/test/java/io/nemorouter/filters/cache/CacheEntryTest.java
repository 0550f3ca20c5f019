package io.nemorouter.filters.cache;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** An entry's bytes: the same whichever way they are written, so a ring file from an older build reads the same. */
class CacheEntryTest {
    private static CacheEntry entry(String scope, String model, String deployment, String type) {
        return new CacheEntry(scope, model, deployment, 1_764_000_000_000L, 1_764_003_600_000L, true, type, 20, 10, 3, 0.000125,
                "data: {\"choices\":[]}\n\n".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void anAsciiEntryIsWrittenExactlyAsTheStreamWritesIt() {
        for (CacheEntry e : new CacheEntry[]{
                entry("org:acme/team:ml", "gpt-4o-mini", "openai/gpt-4o-mini", "text/event-stream"),
                entry("open", "m", null, null),
                entry("", "", "", "")}) {
            assertArrayEquals(e.encodeWithStream(), e.encode(), e.toString());
            CacheEntry back = CacheEntry.decode(e.encode());
            assertEquals(e.scope(), back.scope());
            assertEquals(orNull(e.deployment()), back.deployment(), "none is written as empty, and read back as none");
            assertEquals(orNull(e.contentType()), back.contentType());
            assertEquals(e.cost(), back.cost());
            assertArrayEquals(e.body(), back.body());
        }
    }

    private static String orNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    @Test
    void otherCharactersGoTheStreamsWayAndComeBackTheSame() {
        for (String odd : new String[]{"org:caf\u00e9", "team:\u4e2d\u6587", "key:\u0000x", "\ud83d\ude00"}) {
            CacheEntry e = entry(odd, "mod\u00e8le", "openai/m", "application/json");
            assertArrayEquals(e.encodeWithStream(), e.encode(), odd);
            CacheEntry back = CacheEntry.decode(e.encode());
            assertEquals(odd, back.scope());
            assertEquals("mod\u00e8le", back.model());
        }
    }
}
