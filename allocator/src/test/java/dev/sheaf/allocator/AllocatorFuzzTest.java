package dev.sheaf.allocator;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs the allocator fuzzer ({@link AllocatorFuzzProperties}, jqwik) in a child JVM, so that a
 * SIGSEGV or a hang fails this test with the child's output instead of killing the Surefire fork.
 * The normal test command runs a short fuzz ({@code sheaf.fuzz.ops}, default 50 000 operations);
 * a long run sets {@code -Dsheaf.fuzz.ops=10000000} (see README-fuzz.md).
 */
class AllocatorFuzzTest {

    @Test
    void fuzzAgainstTheModelInAChildJvm() {
        long ops = Long.getLong("sheaf.fuzz.ops", 50_000);
        // The child's watchdog fires at 45 s + 1 s per 2 000 operations; the parent waits a little longer.
        Duration limit = Duration.ofSeconds(Long.getLong("sheaf.fuzz.seconds", 45 + ops / 2_000) + 60);
        ChildJvm.Result r = ChildJvm.run("allocator-fuzz", AllocatorFuzzProperties.class, limit, List.of());
        System.out.println(ChildJvm.tail(r.output(), 12));
        if (!r.passed()) {
            fail(r.describe() + "\nThe program of the last try is in " + r.log().resolveSibling("last-program.txt"));
        }
    }
}
