package io.nemorouter.filters.keys.state;

import io.nemorouter.filters.keys.store.SpendRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BudgetTest {
    private static final long USD = SpendRecord.NANOS_PER_USD;
    private static final long T0 = Instant.parse("2026-01-31T10:00:00Z").toEpochMilli();

    @Test
    void aReservationMustFitAndAFullLedgerRefusesEvenAFreeRequest() {
        Budget b = new Budget("key:a", 10 * USD, null, null, T0);
        Budget.Reservation r = b.reserve(6 * USD, T0);
        assertNotNull(r);
        assertNull(b.reserve(5 * USD, T0), "6 reserved + 5 would pass 10");
        Budget.settle(r, 4 * USD);
        assertNotNull(b.reserve(5 * USD, T0), "4 settled + 5 fits");
        Budget c = new Budget("key:c", 1 * USD, null, null, T0);
        Budget.settle(c.reserve(USD, T0), USD);
        assertNull(c.reserve(0, T0), "at the ceiling: refused even at no cost");
    }

    @Test
    void releaseGivesTheWholeReservationBack() {
        Budget b = new Budget("key:a", 10 * USD, null, null, T0);
        Budget.Reservation r = b.reserve(10 * USD, T0);
        assertNull(b.reserve(1, T0));
        Budget.release(r);
        assertNotNull(b.reserve(10 * USD, T0));
        assertEquals(0, b.spent(T0));
    }

    @Test
    void spendResetsAtEveryDurationsBoundary() {
        String[][] cases = {
                {"30m", "2026-01-31T10:30:00Z"}, {"1h", "2026-01-31T11:00:00Z"}, {"1d", "2026-02-01T10:00:00Z"},
                {"7d", "2026-02-07T10:00:00Z"}, {"30d", "2026-03-02T10:00:00Z"},
                {"1mo", "2026-02-28T10:00:00Z"}, // 31 January plus a month: the last day of February
        };
        for (String[] c : cases) {
            long boundary = Instant.parse(c[1]).toEpochMilli();
            Budget b = new Budget("key:" + c[0], 5 * USD, BudgetDuration.parse(c[0]), null, T0);
            Budget.settle(b.reserve(5 * USD, T0), 5 * USD);
            assertNull(b.reserve(1, boundary - 1), c[0] + ": spent until the boundary");
            assertEquals(5 * USD, b.spent(boundary - 1));
            assertEquals(0, b.spent(boundary), c[0] + ": reset at " + c[1]);
            assertNotNull(b.reserve(5 * USD, boundary), c[0] + ": the whole budget again");
            assertEquals(boundary, b.current(boundary).start);
            assertEquals(5 * USD, b.totalSpent(), "the total is kept across periods");
        }
    }

    @Test
    void aLedgerIdleForSeveralPeriodsStartsOnABoundary() {
        Budget b = new Budget("key:a", USD, BudgetDuration.parse("1h"), null, T0);
        long later = T0 + 5 * 3_600_000L + 1234;
        assertEquals(T0 + 5 * 3_600_000L, b.current(later).start);
        assertEquals(T0 + 6 * 3_600_000L, b.current(later).end);
    }

    @Test
    void aRecordedLedgerCarriesOnWhereItWas() {
        long end = BudgetDuration.parse("1d").end(T0);
        Budget b = new Budget("key:a", 10 * USD, BudgetDuration.parse("1d"), new SpendRecord(T0, end, 7 * USD, 20 * USD), T0 + 1000);
        assertEquals(7 * USD, b.spent(T0 + 1000));
        assertNull(b.reserve(4 * USD, T0 + 1000));
        assertEquals(20 * USD, b.totalSpent());
    }

    @Test
    void concurrentReservationsNeverPassTheCeiling() throws Exception {
        Budget b = new Budget("key:race", 100 * USD, null, null, T0);
        int threads = 8;
        CountDownLatch go = new CountDownLatch(1);
        AtomicLong admitted = new AtomicLong();
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 10_000; i++) {
                    Budget.Reservation r = b.reserve(3 * USD, T0);
                    if (r != null) {
                        admitted.incrementAndGet();
                        Budget.settle(r, 2 * USD + (i % 2) * USD);
                    }
                }
            });
            th.start();
            all.add(th);
        }
        go.countDown();
        for (Thread th : all) {
            th.join();
        }
        assertTrue(b.spent(T0) <= 100 * USD, "spent " + b.spent(T0));
        assertTrue(admitted.get() >= 33, "the budget was used: " + admitted.get());
    }

    @Test
    void aHugeReservationCannotWrapTheCeiling() {
        Budget b = new Budget("key:a", 1 * USD, null, null, T0);
        Budget.settle(b.reserve(USD / 2, T0), USD / 2);
        assertNull(b.reserve(Long.MAX_VALUE, T0), "Long.MAX_VALUE nano-USD does not fit a $1 budget");
        assertNull(b.reserve(10 * USD, T0), "and nothing was left open by trying");
        assertNotNull(b.reserve(USD / 2, T0));
    }

    @Test
    void aDurationChangeKeepsTheReservationsInFlightInThePeriod() {
        Budget b = new Budget("key:a", 10 * USD, null, null, T0);
        Budget.Reservation r = b.reserve(5 * USD, T0);
        b.update(10 * USD, BudgetDuration.parse("1d"));
        Budget.settle(r, USD);
        assertEquals(USD, b.spent(T0 + 1));
        assertNotNull(b.reserve(9 * USD, T0 + 1), "$1 spent of $10: $9 fits");
        assertEquals(BudgetDuration.parse("1d").end(T0), b.current(T0 + 1).end);
    }
}
