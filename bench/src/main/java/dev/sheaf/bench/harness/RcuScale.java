package dev.sheaf.bench.harness;

import dev.sheaf.allocator.RcuFreeStats;
import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import dev.sheaf.rcu.Rcu;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * rcuscale's {@code kfree_rcu_test} in Java: {@code threads} threads each run {@code loops} loops
 * of {@code allocNum} allocations of 64 bytes, every object released with a free-after-grace-period
 * call at once; then {@code rcuBarrier()}. Reported like the kernel's line ("Total time taken by
 * all kfree'ers: ... ns, loops: ..., batches: ..., memory footprint: ...MB") plus grace periods and
 * the engine's peak pending memory. Modes:
 * <ul>
 *   <li>{@code freeRcu(addr,off)}: two-argument {@code SlabAllocator.freeRcu} (kmalloc objects go to the rcu sheaf);</li>
 *   <li>{@code freeRcu(addr,off) chain}: the same with rcu sheaves off, so objects chain through their 8-byte field;</li>
 *   <li>{@code freeRcu(addr)}: headless, per-thread bulk arrays;</li>
 *   <li>{@code SlabCache.freeRcu}: a dedicated cache's rcu sheaf;</li>
 *   <li>{@code rcu.call(free)}: the per-object callback the RFC calls inefficient (a lambda per object).</li>
 * </ul>
 * Each mode first runs an unmeasured warm-up of the same work, a fifth of the loops (at least
 * one), so that the measured loops run JIT-compiled code: measured cold, the first loops ran in
 * the interpreter and C1 and callerNsPerObject came out at 330-1400 ns against ~30 ns per
 * freeRcu call under JMH. The warm-up uses its own domain and allocator, thrown away: compiled
 * code is shared by every instance, while the measured figures (batches, grace periods, peak
 * pending memory, footprint) are counters and peaks of one allocator and domain that cannot be
 * reset, so a shared one would report the warm-up's peaks too. The measured run therefore still
 * starts from an empty allocator, as the kernel's test does after boot.
 */
public final class RcuScale implements SheafExperiment {
    private static final long SIZE = 64;
    /** The kernel's default kfree_alloc_num. */
    private static final int ALLOC_NUM = 8000;

    private final int loops;
    private final int warmupLoops;

    public RcuScale(int loops) {
        this.loops = loops;
        this.warmupLoops = Math.max(1, loops / 5);
    }

    @Override
    public String name() {
        return "rcuscale";
    }

    @Override
    public List<WorkloadResult> run(WorkloadConfig c, PrintStream out) throws InterruptedException {
        out.println("== rcuscale: kfree_rcu_test, " + c.threads() + " kfree'ers x " + loops + " loops x " + ALLOC_NUM
                + " objects of " + SIZE + " B");
        List<WorkloadResult> results = new ArrayList<>();
        for (String mode : List.of("freeRcu(addr,off)", "freeRcu(addr,off) chain", "freeRcu(addr)",
                "SlabCache.freeRcu", "rcu.call(free)")) {
            results.add(run(mode, c.threads(), out));
        }
        return results;
    }

    WorkloadResult run(String mode, int threads, PrintStream out) throws InterruptedException {
        run(mode, threads, warmupLoops, null);
        return run(mode, threads, loops, out);
    }

    /** One run of {@code loops} loops on a fresh domain and allocator; {@code out == null}: warm-up, nothing reported. */
    private WorkloadResult run(String mode, int threads, int loops, PrintStream out) throws InterruptedException {
        try (Rcu rcu = Rcu.builder().name("rcuscale").build();
             SlabAllocator allocator = SlabAllocator.builder().rcu(rcu)
                     .rcuSheaves(!mode.endsWith("chain")).build()) {
            SlabCache cache = mode.startsWith("SlabCache") ? allocator.createCache("rcuscale", SIZE) : null;
            long gp0 = rcu.stats().gracePeriods();
            long start = System.nanoTime();
            Workers.run("kfree", threads, index -> {
                for (int loop = 0; loop < loops; loop++) {
                    for (int i = 0; i < ALLOC_NUM; i++) {
                        switch (mode) {
                            case "freeRcu(addr,off)", "freeRcu(addr,off) chain" ->
                                    allocator.freeRcu(allocator.malloc(SIZE), 0);
                            case "freeRcu(addr)" -> allocator.freeRcu(allocator.malloc(SIZE));
                            case "SlabCache.freeRcu" -> cache.freeRcu(cache.alloc());
                            case "rcu.call(free)" -> {
                                long a = allocator.malloc(SIZE);
                                rcu.call(() -> allocator.free(a));
                            }
                            default -> throw new IllegalArgumentException(mode);
                        }
                    }
                }
                return (long) loops * ALLOC_NUM;
            });
            long callerNanos = System.nanoTime() - start;
            allocator.rcuBarrier();
            rcu.barrier();
            long elapsed = System.nanoTime() - start;
            RcuFreeStats s = allocator.rcuStats();
            long gracePeriods = rcu.stats().gracePeriods() - gp0;
            SlabAllocator.Stats st = allocator.stats();
            if (st.liveBytes() != 0) {
                throw new IllegalStateException("rcuscale " + mode + ": " + st.liveBytes() + " bytes still live after the barrier");
            }
            if (out == null) {
                if (cache != null) {
                    cache.destroy();
                }
                return null;
            }
            long objects = (long) threads * loops * ALLOC_NUM;
            double footprintMb = st.peakReservedBytes() / 1048576.0;
            double peakPendingMb = s.peakPendingBytes() / 1048576.0;
            out.printf(Locale.ROOT, "   rcuscale kfree_rcu_test %-24s Total time taken by all kfree'ers: %d ns, loops: %d, "
                            + "batches: %d, grace periods: %d, peak pending: %.1fMB, memory footprint: %.0fMB%n",
                    mode + ":", elapsed, loops, s.batches(), gracePeriods, peakPendingMb, footprintMb);
            if (cache != null) {
                cache.destroy();
            }
            return new WorkloadResult(name(), mode, objects, elapsed)
                    .figure("callerNsPerObject", (double) callerNanos * threads / objects)
                    .figure("gracePeriods", gracePeriods)
                    .figure("gracePeriodsPerMillionFrees", gracePeriods * 1e6 / objects)
                    .figure("batches", s.batches())
                    .figure("peakPendingMB", peakPendingMb)
                    .figure("footprintMB", footprintMb)
                    .note(threads + " threads x " + loops + " loops x " + ALLOC_NUM + " objects of " + SIZE + " B, warm-up: "
                            + warmupLoops + " loops unmeasured");
        }
    }
}
