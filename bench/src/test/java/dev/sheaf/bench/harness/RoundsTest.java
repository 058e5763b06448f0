package dev.sheaf.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The median, min and max of interleaved rounds, and the interleaving order itself. */
class RoundsTest {

    private static WorkloadResult run(long ops) {
        return new WorkloadResult("w", "p", ops, 1_000_000_000L);
    }

    @Test
    void oddCountPicksTheMiddleRoundWithItsSpread() {
        List<WorkloadResult> runs = List.of(run(30), run(10), run(50), run(20), run(40));
        Rounds.Summary<WorkloadResult> s = Rounds.summarize(runs, WorkloadResult::opsPerSecond);
        assertSame(runs.get(0), s.median(), "30 is the median of 10..50");
        assertEquals(10, s.min());
        assertEquals(50, s.max());
        assertEquals(List.of(30.0, 10.0, 50.0, 20.0, 40.0), s.values(), "values stay in run order");
        assertEquals(5, s.rounds());
        assertEquals(List.of(30L, 10L, 50L, 20L, 40L), runs.stream().map(WorkloadResult::operations).toList(),
                "the caller's list is not reordered");
    }

    @Test
    void evenCountPicksTheUpperMiddleRoundSoTheMedianWasRun() {
        List<WorkloadResult> runs = List.of(run(40), run(10), run(20), run(30));
        Rounds.Summary<WorkloadResult> s = Rounds.summarize(runs, WorkloadResult::opsPerSecond);
        assertSame(runs.get(3), s.median());
        assertEquals(10, s.min());
        assertEquals(40, s.max());
    }

    @Test
    void oneRoundIsItsOwnMedianMinAndMax() {
        Rounds.Summary<WorkloadResult> s = Rounds.summarize(List.of(run(7)), WorkloadResult::opsPerSecond);
        assertEquals(7, s.median().operations());
        assertEquals(7, s.min());
        assertEquals(7, s.max());
        assertThrows(IllegalArgumentException.class, () -> Rounds.summarize(List.<WorkloadResult>of(),
                WorkloadResult::opsPerSecond));
    }

    @Test
    void interleavesCandidatesRoundByRoundAndDropsSkippedOnes() throws InterruptedException {
        List<String> order = new ArrayList<>();
        List<List<String>> byCandidate = Rounds.interleave(3, 2, (i, r) -> {
            order.add("ABC".charAt(i) + "" + r);
            return i == 1 && r == 0 ? null : "ABC".charAt(i) + "" + r; // B is skipped from its first round
        });
        assertEquals(List.of("A0", "B0", "C0", "A1", "C1"), order);
        assertEquals(List.of(List.of("A0", "A1"), List.of(), List.of("C0", "C1")), byCandidate);
        assertThrows(IllegalArgumentException.class, () -> Rounds.interleave(1, 0, (i, r) -> "x"));
    }

    @Test
    void describeListsRoundsInRunOrder() {
        assertEquals("12.3, 9.500", Rounds.describe(List.of(12.34e6, 9.5e6), 1e6));
    }
}
