package dev.sheaf.allocator;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Misuse that must be reported, never corrupt the heap, crash the JVM or hang: one test per
 * scenario, each in a child JVM of its own ({@link ChildJvm}), because a SIGSEGV kills the JVM it
 * happens in and a hang holds it. One JVM per test class would not do: the first crash would take
 * the remaining scenarios of the class with it. The scenarios themselves are in
 * {@link MisuseScenarios}; a failure message says whether the child failed an assertion, crashed
 * (exit code 134, hs_err file) or hung, with its output.
 */
class MisuseCrashTest {

    /** Parent-side bound per child; the child's own watchdog (90 s) normally reports first. */
    private static final Duration LIMIT = Duration.ofSeconds(Long.getLong("sheaf.scenario.limit.seconds", 150));

    private static void scenario(String name) {
        ChildJvm.Result r = ChildJvm.run("misuse-" + name, MisuseScenarios.class, LIMIT, List.of(), name);
        if (!r.passed()) {
            fail(r.describe());
        }
    }

    @Test
    @DisplayName("a1: freeRcu(p, 8) then free(p) -> ISE; the size class stays sound")
    void a1FreeAfterFreeRcuWithOffset() {
        scenario("a1");
    }

    @Test
    @DisplayName("a2: headless freeRcu(p) then free(p) -> ISE; the size class stays sound")
    void a2FreeAfterHeadlessFreeRcu() {
        scenario("a2");
    }

    @Test
    @DisplayName("b: freeRcuNoLock(p, 0) twice on a fresh thread -> ISE at the second; rcuBarrier returns")
    void b2ndFreeRcuNoLockOnFreshThread() {
        scenario("b");
    }

    @Test
    @DisplayName("c: freeRcu(q, 8); freeRcu(p, 8); freeRcu(p, 8) -> ISE at the third; q and p freed, no free errors")
    void c3rdFreeRcuOfSameObject() {
        scenario("c");
    }

    @Test
    @DisplayName("d: double freeNoLock -> ISE at the second call; shrink() does not throw")
    void dDoubleFreeNoLock() {
        scenario("d");
    }

    @Test
    @DisplayName("e: cache.freeRcu(cache.alloc()); cache.destroy() succeeds")
    void eDestroyWaitsForPendingFreeRcu() {
        scenario("e");
    }

    @Test
    @DisplayName("f: close() racing with malloc/free/freeRcu callers: ISE only, no crash, no hang (20 rounds)")
    void fCloseRacingWithCallers() {
        scenario("f");
    }

    @Test
    @DisplayName("g1: headless freeRcu of a slot never handed out -> ISE")
    void g1HeadlessFreeRcuOfNeverHandedOutSlot() {
        scenario("g1");
    }

    @Test
    @DisplayName("g2: free a, free b, free a -> ISE at the third call")
    void g2DoubleFreeNotOnTopOfSheaf() {
        scenario("g2");
    }

    @Test
    @DisplayName("h: freeRcu(p, Long.MAX_VALUE - 7) and other bad link offsets -> IAE, p stays allocated")
    void hOverflowingLinkOffset() {
        scenario("h");
    }

    @Test
    @DisplayName("i: Rcu.Reader of a dead thread: lock() on another thread -> ISE")
    void iReaderOfDeadThread() {
        scenario("i");
    }

    @Test
    @DisplayName("j: hook defers freeNoLock(span); free(span) -> ISE; shrink() is safe")
    void jDeferredNoLockFreeThenFree() {
        scenario("j");
    }

    @Test
    @DisplayName("k: garbage written into a pending object's link field: no crash, no hang, others freed")
    void kGarbageInPendingLinkField() {
        scenario("k");
    }

    @Test
    @DisplayName("l: usableSize/segment of a freed or pending object -> ISE")
    void lUsableSizeAndSegmentOfFreedObject() {
        scenario("l");
    }

    @Test
    @DisplayName("m: headless freeRcu inside a read section -> ISE, object stays allocated")
    void mHeadlessFreeRcuInReadSection() {
        scenario("m");
    }

    @Test
    @DisplayName("n: destroy with live objects -> ISE naming the count, cache usable; Arena address -> IAE")
    void nDestroyWithLiveObjects() {
        scenario("n");
    }

    @Test
    @DisplayName("o: segments used after their allocator is closed and unreachable: no crash")
    void oSegmentOutlivesItsAllocator() {
        scenario("o");
    }

    @Test
    @DisplayName("p: the thread-bound handles under misuse (freed, pending, foreign, interior, closed) and racing close()")
    void pHandlesUnderMisuse() {
        scenario("p");
    }
}
