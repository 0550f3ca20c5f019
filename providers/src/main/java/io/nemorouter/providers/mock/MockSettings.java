package io.nemorouter.providers.mock;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.nemorouter.core.config.ConfigError;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How the mock behaves, from a catalog entry's {@code mock { ... }} block.
 *
 * @param chunks       content chunks per streamed answer (plus role, finish and usage events)
 * @param chunkDelay   pause between streamed chunks
 * @param latency      pause before the first byte of any answer
 * @param dimensions   embedding vector length
 * @param kind         whether the model chats or embeds; {@code auto} goes by its name (one with "embed" in it embeds)
 * @param faults       the errors, jitter and broken streams it injects
 */
public record MockSettings(int chunks, Duration chunkDelay, Duration latency, int dimensions, Kind kind, MockFaults faults) {
    public static final MockSettings DEFAULT = new MockSettings(8, Duration.ZERO, Duration.ZERO, 768, Kind.AUTO, MockFaults.NONE);

    /** Every key a {@code mock} block may have; any other stops start-up. */
    static final List<String> KEYS;

    static {
        List<String> keys = new ArrayList<>(List.of("chunks", "chunk_delay", "latency", "dimensions", "kind"));
        keys.addAll(MockFaults.KEYS);
        KEYS = List.copyOf(keys);
    }

    /** What a mock model does; a request for the other is refused with 400, as OpenAI refuses it. */
    public enum Kind { AUTO, CHAT, EMBEDDING }

    public static MockSettings from(Config entry, String where) {
        Config c = entry.hasPath("mock") ? entry.getConfig("mock") : ConfigFactory.empty();
        for (String key : c.root().keySet()) {
            if (!KEYS.contains(key)) {
                throw ConfigError.at(c.getValue(key).origin(), where + ".mock." + key,
                        "unknown key (known: " + String.join(", ", KEYS) + ")");
            }
        }
        int chunks = c.hasPath("chunks") ? c.getInt("chunks") : DEFAULT.chunks;
        int dims = c.hasPath("dimensions") ? c.getInt("dimensions") : DEFAULT.dimensions;
        if (chunks < 1 || chunks > 10_000) {
            throw ConfigError.at(c.getValue("chunks").origin(), where + ".mock.chunks", "must be between 1 and 10000");
        }
        if (dims < 1 || dims > 65_536) {
            throw ConfigError.at(c.getValue("dimensions").origin(), where + ".mock.dimensions", "must be between 1 and 65536");
        }
        Duration delay = c.hasPath("chunk_delay") ? duration(c, "chunk_delay", where) : DEFAULT.chunkDelay;
        Duration latency = c.hasPath("latency") ? duration(c, "latency", where) : DEFAULT.latency;
        Kind kind = Kind.AUTO;
        if (c.hasPath("kind")) {
            try {
                kind = Kind.valueOf(c.getString("kind").toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw ConfigError.at(c.getValue("kind").origin(), where + ".mock.kind", "must be auto, chat or embedding");
            }
        }
        return new MockSettings(chunks, delay, latency, dims, kind, MockFaults.from(c, where, chunks));
    }

    /** A duration of the block that is there; a negative one is a mistake (a pause cannot be less than none). */
    static Duration duration(Config c, String key, String where) {
        Duration d = c.getDuration(key);
        if (d.isNegative()) {
            throw ConfigError.at(c.getValue(key).origin(), where + ".mock." + key, "must not be negative");
        }
        return d;
    }
}
