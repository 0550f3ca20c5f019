package io.nemorouter.filters.routing;

import com.typesafe.config.ConfigFactory;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.Pricing;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link DeploymentState#learn}: the rule each replica applies to the circuit changes the others share. */
class CircuitLearnTest {
    static final long NOW = 1_000_000;

    static DeploymentState state() {
        Deployment d = new Deployment("d", "m", "openai", null, null, "m", List.of(), Pricing.UNPRICED, ConfigFactory.empty(), "nemo.models[0]");
        return new DeploymentState(d, 1, 0, 0, 0, 0, new GroupSettings(Balance.of("least-busy"), 0, List.of(), List.of(),
                3, 30_000, 60_000, 100, 60_000));
    }

    @Test
    void anOpeningIsKeptUntilItsEndAndNeverCutsALongerOneShort() {
        DeploymentState d = state();
        assertTrue(d.learn(true, NOW + 20_000, NOW, "a", NOW));
        assertEquals(DeploymentState.State.COOLING_DOWN, d.state(NOW));
        assertEquals(20_000, d.cooldownMillis(NOW));
        assertEquals("a", d.learnedFrom());
        assertFalse(d.learn(true, NOW + 10_000, NOW + 1, "b", NOW + 1), "shorter: kept the longer one");
        assertEquals(NOW + 20_000, NOW + d.cooldownMillis(NOW));
        assertTrue(d.learn(true, NOW + 40_000, NOW + 2, "b", NOW + 2), "longer: lengthened");
        assertEquals("b", d.learnedFrom());
        assertFalse(d.learn(true, NOW - 1, NOW - 30_000, "c", NOW + 2), "one already over says nothing");
    }

    @Test
    void theLatestChangeWinsWhicheverArrivesFirst() {
        DeploymentState d = state();
        d.learn(true, NOW + 30_000, NOW, "a", NOW);
        assertFalse(d.learn(false, 0, NOW - 1, "b", NOW), "a close older than the opening is stale");
        assertEquals(DeploymentState.State.COOLING_DOWN, d.state(NOW));
        assertTrue(d.learn(false, 0, NOW + 5, "b", NOW + 5), "a close after it: healthy");
        assertEquals(DeploymentState.State.HEALTHY, d.state(NOW + 5));
        assertEquals("b", d.learnedFrom());
        assertFalse(d.learn(true, NOW + 30_000, NOW + 4, "c", NOW + 6), "an opening older than the close arrived late: ignored");
        assertEquals(DeploymentState.State.HEALTHY, d.state(NOW + 6));
        assertTrue(d.learn(true, NOW + 30_010, NOW + 10, "c", NOW + 10), "a later one opens it again");
    }

    @Test
    void aDeploymentThatMayNotCoolDownHereLearnsNoOpening() {
        DeploymentState d = state();
        d.coolable = false; // alone in its group in this replica's catalog
        assertFalse(d.learn(true, NOW + 30_000, NOW, "a", NOW));
        assertEquals(DeploymentState.State.HEALTHY, d.state(NOW));
        assertNull(d.learnedFrom());
    }
}
