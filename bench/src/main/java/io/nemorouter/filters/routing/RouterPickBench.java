package io.nemorouter.filters.routing;

import com.typesafe.config.ConfigFactory;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.Pricing;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The router's choice of a deployment in a group of three, by each strategy, with capability tags
 * to check and one deployment excluded as tried: what {@link Router#next} does per attempt. In the
 * router's package (the bench jar puts it beside the filters' classes) to reach its package-private
 * parts. {@code java -cp bench/target/nemo-bench.jar org.openjdk.jmh.Main RouterPickBench -prof gc}:
 * the time, and {@code gc.alloc.rate.norm} (bytes allocated per choice).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RouterPickBench {
    @Param({"least-busy", "latency", "weighted", "cost"})
    public String strategy;

    private Group group;
    private long now;

    @Setup
    public void setup() {
        GroupSettings s = new GroupSettings(Balance.of(strategy), 1, List.of(), List.of(), 3, 30_000, 60_000, 100, 60_000);
        DeploymentState[] members = new DeploymentState[3];
        for (int i = 0; i < 3; i++) {
            Deployment d = new Deployment("p/m" + i, "m", "openai", "http://127.0.0.1:1/v1", "sk", "m" + i, List.of("vision"),
                    new Pricing(0.1 * (i + 1), 0, 0.4 * (i + 1), null, 128_000, 8192, "test"), ConfigFactory.empty(), "nemo.models[" + i + "]");
            members[i] = new DeploymentState(d, i + 1, 0, 0, 0, 1L, s);
        }
        group = new Group("m", members, s);
        now = 0; // at time 0 no latency figure is stale: the latency strategy compares rather than explores
    }

    @Benchmark
    public int pick() {
        return group.settings.balance().pick(group, 0b001, 1L, now);
    }
}
