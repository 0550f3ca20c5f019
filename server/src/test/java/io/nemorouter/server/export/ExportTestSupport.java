package io.nemorouter.server.export;

import org.junit.jupiter.api.AfterEach;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the export tests share: what a test opened is closed after it (last first), and a bounded wait. */
abstract class ExportTestSupport {
    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** {@code c}, closed after the test. */
    <T extends AutoCloseable> T closeLater(T c) {
        open.add(c);
        return c;
    }

    /** Waits up to 20 s for {@code done}; fails naming {@code what}. */
    static void await(String what, BooleanSupplier done) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < until, "timed out waiting for " + what);
            Thread.sleep(20);
        }
    }
}
