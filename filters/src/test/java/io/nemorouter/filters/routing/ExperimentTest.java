package io.nemorouter.filters.routing;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExperimentTest {
    /** 90 / 10, as the README's example: cumulative shares in hundredths of a percent. */
    private final Experiment flashVsPro = new Experiment("flash-vs-pro", "gemini-2.5-flash",
            new String[]{"gemini-2.5-flash", "gemini-2.5-pro"}, new int[]{9_000, 10_000}, Experiment.Sticky.KEY);

    private static Map<String, Integer> split(Experiment e, java.util.function.IntFunction<String> id) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 10_000; i++) {
            counts.merge(e.variant(id.apply(i)), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void tenThousandKeysSplitWithinTwoPointsOfTheConfiguration() {
        Map<String, Integer> counts = split(flashVsPro, i -> "key-" + i);
        double pro = counts.getOrDefault("gemini-2.5-pro", 0) / 100.0;
        assertTrue(Math.abs(pro - 10) <= 2, "pro got " + pro + "%");
        assertEquals(10_000, counts.values().stream().mapToInt(Integer::intValue).sum());
    }

    @Test
    void tenThousandUnstickyRequestsSplitWithinTwoPointsToo() {
        Experiment thirds = new Experiment("t", "m", new String[]{"a", "b", "c"}, new int[]{2_000, 5_000, 10_000},
                Experiment.Sticky.NONE);
        Map<String, Integer> counts = split(thirds, i -> null);
        assertTrue(Math.abs(counts.get("a") / 100.0 - 20) <= 2, counts.toString());
        assertTrue(Math.abs(counts.get("b") / 100.0 - 30) <= 2, counts.toString());
        assertTrue(Math.abs(counts.get("c") / 100.0 - 50) <= 2, counts.toString());
    }

    @Test
    void aKeyAlwaysGetsTheSameVariantAndAnotherExperimentSplitsKeysAfresh() {
        for (int i = 0; i < 1000; i++) {
            assertEquals(flashVsPro.variant("key-" + i), flashVsPro.variant("key-" + i));
        }
        Experiment other = new Experiment("other", "gemini-2.5-flash", flashVsPro.targets(), flashVsPro.cumulative(),
                Experiment.Sticky.KEY);
        int differ = 0;
        for (int i = 0; i < 1000; i++) {
            differ += flashVsPro.variant("key-" + i).equals(other.variant("key-" + i)) ? 0 : 1;
        }
        assertTrue(differ > 100, "the experiment's name is in the hash: " + differ + " of 1000 keys differ");
    }
}
