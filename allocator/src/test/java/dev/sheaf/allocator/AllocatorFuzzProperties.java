package dev.sheaf.allocator;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * The allocator fuzzer: jqwik generates programs of operations (every public entry point of
 * {@link SlabAllocator} and {@link SlabCache}, with addresses that are live objects, interior
 * addresses, random longs, an {@link Arena} segment's address, freed or pending objects and slots
 * never handed out), two threads run them against one allocator, and every step is compared with
 * a model of what is live: it either does what the model says or throws exactly the documented
 * exception ({@link IllegalArgumentException} for an address that is no object start of the
 * allocator, {@link IllegalStateException} for an object start that is not allocated now).
 *
 * <p>Determinism under two threads: a program runs in rounds of {@value #ROUND} operations. In a
 * round's concurrent phase each thread works only on objects it owns (so the threads never race
 * on one address) with addresses whose state no other thread can change: its live objects, their
 * interiors, random and foreign addresses. In the exclusive phase thread 0 runs alone (thread 1
 * waits at a barrier) and may also use freed/pending objects and never-handed-out slots, whose
 * state only its own calls change then. At the end of a round the threads exchange the objects
 * handed off through their outboxes (objects allocated by one thread are freed by the other), and
 * every {@value #CHECK_EVERY} rounds thread 0 checks the heap's accounting against the model
 * (after {@code rcuBarrier()} and {@code shrink()}: stats live bytes, large allocations, active
 * objects per cache, free errors) and that no live object was overwritten.
 *
 * <p>Runs in a child JVM ({@link #main}, started by {@link AllocatorFuzzTest}) so that a SIGSEGV
 * fails only that JVM. Each try writes its program to {@code last-program.txt} before running it,
 * so a crash leaves its reproduction behind. Not a Surefire test itself (no "Test" in its name).
 */
public class AllocatorFuzzProperties {

    static final int ROUND = 32;
    static final int CHECK_EVERY = 4;
    static final int MAX_OPS_PER_TRY = Integer.getInteger("sheaf.fuzz.opsPerTry", 400);
    static final Duration TRY_LIMIT = Duration.ofSeconds(Long.getLong("sheaf.fuzz.tryLimitSeconds", 20));
    /**
     * With {@code -Dsheaf.fuzz.misuse=false} no freed/pending object, never-handed-out slot or bad
     * link offset is passed to a call (addresses that are no object start still are): a check of
     * the model and of the accounting alone, for code that does not yet detect those misuses.
     */
    static final boolean MISUSE = Boolean.parseBoolean(System.getProperty("sheaf.fuzz.misuse", "true"));
    static final AtomicLong OPS_RUN = new AtomicLong();
    static final AtomicLong TRIES_RUN = new AtomicLong();
    static final Map<String, AtomicLong> OUTCOMES = new ConcurrentHashMap<>();

    // -------------------------------------------------------------------------------------------
    // Child JVM entry point

    public static void main(String[] args) {
        long ops = Long.getLong("sheaf.fuzz.ops", 50_000);
        long tries = Math.max(1, ops / Math.max(1, MAX_OPS_PER_TRY / 2));
        ChildMain.runAndHalt("allocator fuzzer, " + ops + " operations (" + tries + " tries)",
                Duration.ofSeconds(Long.getLong("sheaf.fuzz.seconds", 45 + ops / 2_000)), () -> {
                    Path db = Path.of("jqwik-database");
                    LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                            .selectors(selectClass(AllocatorFuzzProperties.class))
                            .configurationParameter("jqwik.tries.default", Long.toString(tries))
                            .configurationParameter("jqwik.database", db.toAbsolutePath().toString())
                            .configurationParameter("jqwik.reporting.onlyfailures", "true")
                            .build();
                    Launcher launcher = LauncherFactory.create();
                    SummaryGeneratingListener summary = new SummaryGeneratingListener();
                    launcher.execute(request, summary);
                    TestExecutionSummary s = summary.getSummary();
                    s.printTo(new PrintWriter(System.out, true));
                    s.printFailuresTo(new PrintWriter(System.out, true), 60);
                    System.out.println("fuzzer: " + TRIES_RUN.get() + " tries, " + OPS_RUN.get() + " operations");
                    System.out.println("fuzzer outcomes: " + new java.util.TreeMap<>(OUTCOMES.entrySet().stream()
                            .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().get()))));
                    if (s.getTestsFoundCount() == 0) {
                        throw new AssertionError("jqwik found no property to run");
                    }
                    if (s.getTotalFailureCount() > 0) {
                        throw new AssertionError(s.getTotalFailureCount() + " property failure(s), see above");
                    }
                });
    }

    // -------------------------------------------------------------------------------------------
    // Programs

    enum Kind {
        MALLOC, MALLOC_LARGE, MALLOC_NOLOCK, CACHE_ALLOC, CACHE_ALLOC_NOLOCK, ALLOC_BULK,
        FREE, FREE_NOLOCK, CACHE_FREE, CACHE_FREE_NOLOCK, FREE_BULK,
        FREE_RCU_OFF, FREE_RCU, FREE_RCU_NOLOCK, CACHE_FREE_RCU, FREE_RCU_IN_READ,
        USABLE_SIZE, SEGMENT, RCU_BARRIER, SHRINK, STATS, HANDOFF
    }

    /** Where an operation's address comes from. FREED and NEVER are used in the exclusive phase only. */
    enum Src { LIVE, INTERIOR, RANDOM, FOREIGN, ZERO, FREED, NEVER }

    /** thread: 0 or 1 (concurrent phase), 2 (exclusive phase, run by thread 0). */
    record Op(int thread, Kind kind, Src src, long x, long y) {
        @Override
        public String toString() {
            return "t" + thread + ":" + kind + "/" + src + "(" + x + "," + y + ")";
        }
    }

    @Provide
    Arbitrary<List<Op>> programs() {
        Arbitrary<Integer> thread = Arbitraries.frequency(Tuple.of(45, 0), Tuple.of(45, 1), Tuple.of(10, 2));
        Arbitrary<Kind> kind = Arbitraries.frequency(
                Tuple.of(10, Kind.MALLOC), Tuple.of(2, Kind.MALLOC_LARGE), Tuple.of(3, Kind.MALLOC_NOLOCK),
                Tuple.of(6, Kind.CACHE_ALLOC), Tuple.of(2, Kind.CACHE_ALLOC_NOLOCK), Tuple.of(2, Kind.ALLOC_BULK),
                Tuple.of(8, Kind.FREE), Tuple.of(3, Kind.FREE_NOLOCK), Tuple.of(4, Kind.CACHE_FREE),
                Tuple.of(2, Kind.CACHE_FREE_NOLOCK), Tuple.of(2, Kind.FREE_BULK),
                Tuple.of(5, Kind.FREE_RCU_OFF), Tuple.of(3, Kind.FREE_RCU), Tuple.of(3, Kind.FREE_RCU_NOLOCK),
                Tuple.of(3, Kind.CACHE_FREE_RCU), Tuple.of(1, Kind.FREE_RCU_IN_READ),
                Tuple.of(3, Kind.USABLE_SIZE), Tuple.of(2, Kind.SEGMENT), Tuple.of(1, Kind.RCU_BARRIER),
                Tuple.of(1, Kind.SHRINK), Tuple.of(1, Kind.STATS), Tuple.of(4, Kind.HANDOFF));
        Arbitrary<Src> src = Arbitraries.frequency(
                Tuple.of(60, Src.LIVE), Tuple.of(8, Src.INTERIOR), Tuple.of(5, Src.RANDOM), Tuple.of(5, Src.FOREIGN),
                Tuple.of(3, Src.ZERO), Tuple.of(12, Src.FREED), Tuple.of(7, Src.NEVER));
        Arbitrary<Long> x = Arbitraries.longs().between(0, Long.MAX_VALUE);
        Arbitrary<Long> y = Arbitraries.longs();
        Arbitrary<Op> op = Combinators.combine(thread, kind, src, x, y).as(Op::new);
        // Uniform sizes: jqwik's default biases list sizes towards its generation size, which is
        // small for few tries; the fuzzer wants long programs (about MAX_OPS_PER_TRY / 2 on average).
        return op.list().ofMinSize(1).ofMaxSize(MAX_OPS_PER_TRY)
                .withSizeDistribution(net.jqwik.api.RandomDistribution.uniform());
    }

    @Property(shrinking = net.jqwik.api.ShrinkingMode.BOUNDED)
    void operationsMatchTheModel(@ForAll("programs") List<Op> program) throws Throwable {
        TRIES_RUN.incrementAndGet();
        try {
            Files.writeString(Path.of("last-program.txt"), program.stream().map(Op::toString)
                    .collect(Collectors.joining("\n", "", "\n")));
        } catch (IOException e) {
            // the reproduction file is a convenience
        }
        new Run(program).run();
    }

    // -------------------------------------------------------------------------------------------
    // One run of a program

    /** The expected outcome of one call. */
    enum Exp { OK, IAE, ISE, EITHER }

    record Obj(long addr, long usable, int kind) {
        static final int KMALLOC = -1;
        static final int LARGE = -2;
    }

    /** A released (freed or pending) object start, and the shrink epoch it was released in. */
    record Released(int kind, long epoch) { }

    static final class Run {
        final List<Op> program;
        final SlabAllocator heap;
        final SlabCache[] caches;
        final Arena arena = Arena.ofShared();
        final MemorySegment foreign;
        final Map<Long, Obj> live = new ConcurrentHashMap<>();
        final Map<Long, Released> released = new ConcurrentHashMap<>();
        final Map<Long, Boolean> everHanded = new ConcurrentHashMap<>();
        /** Even while no shrink runs; odd during one. */
        final AtomicLong shrinkEpoch = new AtomicLong();
        @SuppressWarnings("unchecked")
        final List<Obj>[] mine = new List[] {new ArrayList<Obj>(), new ArrayList<Obj>()};
        @SuppressWarnings("unchecked")
        final List<Obj>[] outbox = new List[] {new ArrayList<Obj>(), new ArrayList<Obj>()};
        final CyclicBarrier barrier = new CyclicBarrier(2);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        /** The step each thread is in (for a hang report). */
        final String[] current = new String[2];
        final int[] classes = SlabAllocator.sizeClasses();
        List<Long> releasedSnapshot = List.of();
        List<Obj> liveSnapshot = List.of();

        Run(List<Op> program) {
            this.program = program;
            this.heap = SlabAllocator.builder().capacity(256L << 20).build();
            this.caches = new SlabCache[] {
                    heap.createCache(CacheSpec.of("fz-default-48", 48)),
                    heap.createCache(CacheSpec.of("fz-nosheaf-200", 200).withSheafCapacity(0).withRcuLinkOffset(16)),
                    heap.createCache(CacheSpec.of("fz-aligned-64", 40).withAlignment(64).withRcuLinkOffset(8))};
            this.foreign = arena.allocate(4096, 8);
        }

        void run() throws Throwable {
            Thread[] ts = new Thread[2];
            for (int t = 0; t < 2; t++) {
                int id = t;
                ts[t] = Thread.ofPlatform().name("fuzz-" + t).start(() -> {
                    try {
                        worker(id);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                        barrier.reset(); // wakes the other thread with BrokenBarrierException
                    }
                });
            }
            for (Thread t : ts) {
                // Twice the barrier's bound: a thread waiting for a stuck partner reports first.
                if (!t.join(TRY_LIMIT.multipliedBy(2))) {
                    System.out.println("HANG: " + t.getName() + " did not finish within " + 2 * TRY_LIMIT.toSeconds()
                            + " s; thread 0 was at " + current[0] + ", thread 1 at " + current[1]
                            + "; failure so far: " + failure.get() + "; program:\n" + program);
                    ChildMain.dumpThreads();
                    System.out.flush();
                    Runtime.getRuntime().halt(ChildJvm.EXIT_HANG);
                }
            }
            Throwable f = failure.get();
            if (f != null) {
                arena.close();
                throw f; // the heap is left unclosed: after a failure its state is unknown
            }
            finish();
        }

        private void await() throws InterruptedException, BrokenBarrierException {
            try {
                barrier.await(TRY_LIMIT.toSeconds(), TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("HANG: the other fuzz thread did not reach the barrier within "
                        + TRY_LIMIT.toSeconds() + " s; thread 0 was at " + current[0] + ", thread 1 at " + current[1]);
            } catch (BrokenBarrierException e) {
                if (failure.get() != null) {
                    throw new StopRun();
                }
                throw e;
            }
        }

        /** Thrown in the surviving thread when the other one failed. */
        static final class StopRun extends RuntimeException {
            StopRun() {
                super(null, null, false, false);
            }
        }

        void worker(int t) throws Throwable {
            try {
                int rounds = (program.size() + ROUND - 1) / ROUND;
                for (int r = 0; r < rounds; r++) {
                    int from = r * ROUND;
                    int to = Math.min(program.size(), from + ROUND);
                    for (int i = from; i < to; i++) {
                        Op op = program.get(i);
                        if (op.thread() == t) {
                            step(t, i, op, false);
                        }
                    }
                    await(); // end of the concurrent phase
                    if (t == 0) {
                        prepareExclusive();
                        for (int i = from; i < to; i++) {
                            Op op = program.get(i);
                            if (op.thread() == 2) {
                                step(0, i, op, true);
                            }
                        }
                        if (r % CHECK_EVERY == CHECK_EVERY - 1 || r == rounds - 1) {
                            checkpoint("after round " + r);
                        }
                    }
                    await(); // end of the exclusive phase
                    mine[t].addAll(outbox[1 - t]); // the other thread's handoffs (read after the barrier)
                    await();
                    outbox[1 - t].clear();
                    await();
                }
            } catch (StopRun e) {
                // the other thread failed; its failure is reported
            }
        }

        void prepareExclusive() {
            released.keySet().removeIf(live::containsKey);
            releasedSnapshot = new ArrayList<>(released.keySet());
            releasedSnapshot.sort(null);
            List<Obj> all = new ArrayList<>(mine[0]);
            all.addAll(mine[1]);
            liveSnapshot = all;
        }

        // ---------------------------------------------------------------------------------------
        // One step

        void step(int t, int index, Op op, boolean exclusive) {
            OPS_RUN.incrementAndGet();
            String ctx = "op #" + index + " " + op + (exclusive ? " (exclusive phase)" : "");
            current[t] = ctx;
            List<Obj> own = mine[t];
            Src src = op.src();
            if ((!exclusive || !MISUSE) && (src == Src.FREED || src == Src.NEVER)) {
                src = Src.LIVE;
            }
            switch (op.kind()) {
                case MALLOC -> {
                    long size = smallSize(op.x());
                    long a = call(ctx, Exp.OK, () -> heap.malloc(size));
                    adopt(t, ctx, a, heap.sizeClassCache(size).objectSize(), Obj.KMALLOC, size);
                }
                case MALLOC_LARGE -> {
                    if (countLarge(own) >= 4) {
                        return;
                    }
                    long size = SlabAllocator.MAX_SIZE_CLASS + 1 + op.x() % (1 << 20);
                    long a = call(ctx, Exp.OK, () -> heap.malloc(size));
                    adopt(t, ctx, a, (size + 4095) & -4096L, Obj.LARGE, size);
                }
                case MALLOC_NOLOCK -> {
                    boolean large = op.y() % 8 == 0 && countLarge(own) < 4;
                    long size = large ? SlabAllocator.MAX_SIZE_CLASS + 1 + op.x() % (1 << 20) : smallSize(op.x());
                    long a = call(ctx, Exp.OK, () -> heap.mallocNoLock(size));
                    if (a != 0) {
                        long expect = large ? (size + 4095) & -4096L : heap.sizeClassCache(size).objectSize();
                        long actual = call(ctx + " usableSize of the new object", Exp.OK, () -> heap.usableSize(a));
                        if (actual != expect && !(!large && actual == nextClass(expect))) {
                            fail(ctx, "mallocNoLock(" + size + ") has usable size " + actual + ", expected " + expect);
                        }
                        adopt(t, ctx, a, actual, large ? Obj.LARGE : Obj.KMALLOC, size);
                    }
                }
                case CACHE_ALLOC, CACHE_ALLOC_NOLOCK -> {
                    int c = (int) (op.x() % caches.length);
                    boolean noLock = op.kind() == Kind.CACHE_ALLOC_NOLOCK;
                    long a = call(ctx, Exp.OK, () -> noLock ? caches[c].allocNoLock() : caches[c].alloc());
                    if (a != 0) {
                        adopt(t, ctx, a, caches[c].objectSize(), c, caches[c].objectSize());
                    }
                }
                case ALLOC_BULK -> {
                    int c = (int) (op.x() % caches.length);
                    int n = 1 + (int) (Math.abs(op.y() % 40));
                    long[] out = new long[n + 2];
                    call(ctx, Exp.OK, () -> {
                        caches[c].allocBulk(out, n);
                        return 0L;
                    });
                    for (int i = 0; i < n; i++) {
                        adopt(t, ctx + " object " + i, out[i], caches[c].objectSize(), c, caches[c].objectSize());
                    }
                }
                case FREE, FREE_NOLOCK, FREE_RCU_OFF, FREE_RCU, FREE_RCU_NOLOCK, USABLE_SIZE, SEGMENT ->
                        heapAddressOp(t, ctx, op, src, exclusive);
                case CACHE_FREE, CACHE_FREE_NOLOCK, CACHE_FREE_RCU -> cacheAddressOp(t, ctx, op, src, exclusive);
                case FREE_BULK -> freeBulk(t, ctx, op, src, exclusive);
                case FREE_RCU_IN_READ -> {
                    Obj o = pickOwn(own, op.x());
                    if (o == null) {
                        return;
                    }
                    checkTags(ctx, o);
                    heap.rcu().readLock();
                    try {
                        call(ctx + " headless freeRcu inside a read section", Exp.ISE, () -> {
                            heap.freeRcu(o.addr());
                            return 0L;
                        });
                    } finally {
                        heap.rcu().readUnlock();
                    }
                }
                case RCU_BARRIER -> call(ctx, Exp.OK, () -> {
                    heap.rcuBarrier();
                    return 0L;
                });
                case SHRINK -> shrink(ctx);
                case STATS -> call(ctx, Exp.OK, () -> {
                    heap.stats();
                    heap.cacheStats();
                    heap.rcuStats();
                    return (long) heap.slabinfo().length();
                });
                case HANDOFF -> {
                    Obj o = pickOwn(own, op.x());
                    if (o != null) {
                        own.remove(o);
                        outbox[t].add(o);
                    }
                }
            }
        }

        long smallSize(long x) {
            return switch ((int) (x % 4)) {
                case 0, 1 -> 1 + (x >>> 2) % 256;
                case 2 -> 1 + (x >>> 2) % 4096;
                default -> 1 + (x >>> 2) % SlabAllocator.MAX_SIZE_CLASS;
            };
        }

        long nextClass(long size) {
            for (int i = 0; i + 1 < classes.length; i++) {
                if (classes[i] == size) {
                    return classes[i + 1];
                }
            }
            return -1;
        }

        static int countLarge(List<Obj> own) {
            int n = 0;
            for (Obj o : own) {
                if (o.kind() == Obj.LARGE) {
                    n++;
                }
            }
            return n;
        }

        void shrink(String ctx) {
            shrinkEpoch.incrementAndGet();
            try {
                call(ctx, Exp.OK, heap::shrink);
            } finally {
                shrinkEpoch.incrementAndGet();
            }
        }

        /** A new object from the allocator: distinct from every live one, the usable size it should have. */
        void adopt(int t, String ctx, long a, long usable, int kind, long requested) {
            if (a == 0) {
                fail(ctx, "allocation returned 0");
            }
            Obj o = new Obj(a, usable, kind);
            Obj prev = live.putIfAbsent(a, o);
            if (prev != null) {
                fail(ctx, String.format("0x%x handed out while still live (%s)", a, prev));
            }
            released.remove(a);
            everHanded.put(a, Boolean.TRUE);
            if (usable < requested) {
                fail(ctx, "usable size " + usable + " below the requested " + requested);
            }
            writeTags(o);
            mine[t].add(o);
        }

        static Obj pickOwn(List<Obj> own, long x) {
            return own.isEmpty() ? null : own.get((int) (x % own.size()));
        }

        /** Gives up an owned object before a call that frees it (or may, when it fails). */
        void release(int t, Obj o) {
            long e = shrinkEpoch.get();
            live.remove(o.addr());
            mine[t].remove(o);
            released.put(o.addr(), new Released(o.kind(), (e & 1) == 0 ? e : -1));
        }

        void keep(int t, Obj o) {
            released.remove(o.addr());
            live.put(o.addr(), o);
            mine[t].add(o);
        }

        /** A target address and the outcome a heap-wide call on it must have. */
        record Target(long addr, Obj obj, Exp exp, int kind, String what) { }

        Target target(int t, Op op, Src src, int cacheFor) {
            List<Obj> own = mine[t];
            switch (src) {
                case LIVE -> {
                    Obj o = pickOwn(own, op.x());
                    if (o == null) {
                        return null;
                    }
                    Exp e = cacheFor < 0 || o.kind() == cacheFor ? Exp.OK : Exp.IAE;
                    return new Target(o.addr(), o, e, o.kind(), "live " + o);
                }
                case INTERIOR -> {
                    Obj o = pickOwn(own, op.x());
                    if (o == null) {
                        return null;
                    }
                    long off = 1 + Math.floorMod(op.y(), o.usable() - 1);
                    return new Target(o.addr() + off, null, Exp.IAE, o.kind(), "interior +" + off + " of " + o);
                }
                case RANDOM -> {
                    long a = (op.y() & 1) == 0 ? op.y() | Long.MIN_VALUE : (op.y() & ((1L << 60) - 1)) | (1L << 56);
                    return new Target(a, null, Exp.IAE, Integer.MIN_VALUE, "random");
                }
                case FOREIGN -> {
                    long a = foreign.address() + 8 * Math.floorMod(op.y(), 512);
                    return new Target(a, null, Exp.IAE, Integer.MIN_VALUE, "an Arena segment's address");
                }
                case ZERO -> {
                    return new Target(0, null, Exp.OK, Integer.MIN_VALUE, "0");
                }
                case FREED -> {
                    if (releasedSnapshot.isEmpty()) {
                        return null;
                    }
                    long a = releasedSnapshot.get((int) (op.x() % releasedSnapshot.size()));
                    if (live.containsKey(a)) {
                        return null; // reallocated in this phase
                    }
                    Released r = released.get(a);
                    if (r == null) {
                        return null;
                    }
                    // Exact only while no shrink ran since the release (a shrink may give the slab back,
                    // leaving the address in free memory) and never for spans (their pages go back at free).
                    boolean exact = r.epoch() == shrinkEpoch.get() && r.kind() != Obj.LARGE;
                    Exp e;
                    if (!exact) {
                        e = Exp.EITHER;
                    } else {
                        e = cacheFor < 0 || r.kind() == cacheFor ? Exp.ISE : Exp.IAE;
                    }
                    return new Target(a, null, e, r.kind(), "released (freed or pending) kind " + r.kind());
                }
                case NEVER -> {
                    if (liveSnapshot.isEmpty()) {
                        return null;
                    }
                    Obj o = liveSnapshot.get((int) (op.x() % liveSnapshot.size()));
                    if (o.kind() == Obj.LARGE || !live.containsKey(o.addr())) {
                        return null;
                    }
                    SlabCache sc = o.kind() == Obj.KMALLOC ? heap.sizeClassCache(o.usable()) : caches[o.kind()];
                    long slot = sc.slotSize();
                    if (sc.slabBytes() != 65536) {
                        return null; // slabs are whole 64 KiB-aligned blocks: only a one-block slab's base is known
                    }
                    long k = 1 + Math.floorMod(op.y(), 8);
                    long a = (op.y() & 8) == 0 ? o.addr() + k * slot : o.addr() - k * slot;
                    long base = o.addr() & -65536L;
                    if ((a & -65536L) != base || (a - base) / slot >= sc.objectsPerSlab() || everHanded.containsKey(a)) {
                        return null;
                    }
                    Exp e = cacheFor < 0 || o.kind() == cacheFor ? Exp.ISE : Exp.IAE;
                    return new Target(a, null, e, o.kind(), "slot never handed out, next to " + o);
                }
            }
            throw new AssertionError(src);
        }

        void heapAddressOp(int t, String ctx, Op op, Src src, boolean exclusive) {
            Kind k = op.kind();
            if (src == Src.ZERO && (k == Kind.USABLE_SIZE || k == Kind.SEGMENT)) {
                call(ctx + " on 0", Exp.IAE, () -> heap.usableSize(0));
                return;
            }
            Target tg = target(t, op, src, -1);
            if (tg == null) {
                return;
            }
            String c = ctx + " on " + String.format("0x%x", tg.addr()) + " (" + tg.what() + ")";
            Obj o = tg.obj();
            if (o != null) {
                checkTags(c, o);
            }
            switch (k) {
                case USABLE_SIZE -> {
                    long u = call(c, tg.exp(), () -> heap.usableSize(tg.addr()));
                    if (o != null && u != o.usable()) {
                        fail(c, "usableSize " + u + ", expected " + o.usable());
                    }
                }
                case SEGMENT -> {
                    long u = call(c, tg.exp(), () -> heap.segment(tg.addr()).byteSize());
                    if (o != null && u != o.usable()) {
                        fail(c, "segment size " + u + ", expected " + o.usable());
                    }
                }
                case FREE, FREE_NOLOCK, FREE_RCU -> {
                    if (o != null) {
                        release(t, o);
                    }
                    call(c, tg.exp(), () -> {
                        if (k == Kind.FREE) {
                            heap.free(tg.addr());
                        } else if (k == Kind.FREE_NOLOCK) {
                            heap.freeNoLock(tg.addr());
                        } else {
                            heap.freeRcu(tg.addr());
                        }
                        return 0L;
                    });
                }
                case FREE_RCU_OFF, FREE_RCU_NOLOCK -> {
                    long off = 0;
                    Exp e = tg.exp();
                    if (o != null) {
                        if (MISUSE && Math.floorMod(op.y(), 6) == 0) {
                            long[] bad = {-8, 4, o.usable(), o.usable() - 4, Long.MAX_VALUE - 7, Long.MIN_VALUE,
                                    Long.MAX_VALUE, 1L << 40};
                            off = bad[(int) Math.floorMod(op.y() >> 3, bad.length)];
                            e = Exp.IAE;
                        } else {
                            off = 8 * Math.floorMod(op.y(), Math.min(o.usable(), 4096) / 8);
                        }
                    }
                    long linkOffset = off;
                    if (o != null && e == Exp.OK) {
                        release(t, o);
                    }
                    c = c + " link offset " + linkOffset;
                    call(c, e, () -> {
                        if (k == Kind.FREE_RCU_OFF) {
                            heap.freeRcu(tg.addr(), linkOffset);
                        } else {
                            heap.freeRcuNoLock(tg.addr(), linkOffset);
                        }
                        return 0L;
                    });
                    if (o != null && e == Exp.IAE) {
                        long u = call(c + ": the object must still be allocated", Exp.OK,
                                () -> heap.usableSize(tg.addr()));
                        if (u != o.usable()) {
                            fail(c, "usableSize after the rejected call " + u + ", expected " + o.usable());
                        }
                    }
                }
                default -> throw new AssertionError(k);
            }
        }

        void cacheAddressOp(int t, String ctx, Op op, Src src, boolean exclusive) {
            int ci = (int) (Math.floorMod(op.y(), caches.length));
            if (src == Src.LIVE) {
                Obj o = pickOwn(mine[t], op.x());
                if (o != null && o.kind() >= 0 && Math.floorMod(op.y(), 4) != 0) {
                    ci = o.kind(); // mostly the object's own cache
                }
            }
            int cacheIndex = ci;
            SlabCache cache = caches[cacheIndex];
            Target tg = target(t, op, src, cacheIndex);
            if (tg == null) {
                return;
            }
            String c = ctx + " on " + String.format("0x%x", tg.addr()) + " (" + tg.what() + ") with cache "
                    + cache.name();
            Obj o = tg.obj();
            if (o != null) {
                checkTags(c, o);
                if (tg.exp() == Exp.OK) {
                    release(t, o);
                }
            }
            call(c, tg.exp(), () -> {
                switch (op.kind()) {
                    case CACHE_FREE -> cache.free(tg.addr());
                    case CACHE_FREE_NOLOCK -> cache.freeNoLock(tg.addr());
                    default -> cache.freeRcu(tg.addr());
                }
                return 0L;
            });
        }

        void freeBulk(int t, String ctx, Op op, Src src, boolean exclusive) {
            int ci = (int) Math.floorMod(op.y(), caches.length);
            SlabCache cache = caches[ci];
            List<Obj> batch = new ArrayList<>();
            for (Obj o : mine[t]) {
                if (o.kind() == ci && batch.size() < 1 + op.x() % 30) {
                    batch.add(o);
                }
            }
            Target bad = src == Src.LIVE || src == Src.ZERO ? null : target(t, op, src, ci);
            long[] arr = new long[batch.size() + (bad != null ? 1 : 0) + 1];
            for (int i = 0; i < batch.size(); i++) {
                arr[i] = batch.get(i).addr();
                checkTags(ctx, batch.get(i));
            }
            Exp e = Exp.OK;
            String c = ctx + " freeBulk of " + batch.size() + " objects of " + cache.name();
            if (bad != null) {
                arr[batch.size()] = bad.addr();
                e = bad.exp();
                c += String.format(" plus 0x%x (%s)", bad.addr(), bad.what());
            }
            int n = arr.length - 1;
            if (e == Exp.OK) {
                for (Obj o : batch) {
                    release(t, o);
                }
            }
            call(c, e, () -> {
                cache.freeBulk(arr, n);
                return 0L;
            });
            if (e != Exp.OK) {
                for (Obj o : batch) {
                    long u = call(c + ": rejected bulk free left " + o + " allocated", Exp.OK,
                            () -> heap.usableSize(o.addr()));
                    if (u != o.usable()) {
                        fail(c, "usableSize of " + o + " after the rejected bulk free: " + u);
                    }
                }
            }
        }

        // ---------------------------------------------------------------------------------------
        // Checks

        interface Call {
            long run();
        }

        long call(String ctx, Exp exp, Call call) {
            long r;
            try {
                r = call.run();
            } catch (IllegalArgumentException e) {
                count(ctx, exp, "IAE");
                if (exp == Exp.IAE || exp == Exp.EITHER) {
                    return 0;
                }
                throw new AssertionError(ctx + ": expected " + exp + ", got " + e, e);
            } catch (IllegalStateException e) {
                count(ctx, exp, "ISE");
                if (exp == Exp.ISE || exp == Exp.EITHER) {
                    return 0;
                }
                throw new AssertionError(ctx + ": expected " + exp + ", got " + e, e);
            } catch (RuntimeException | Error e) {
                throw new AssertionError(ctx + ": expected " + exp + ", got " + e, e);
            }
            count(ctx, exp, "OK");
            if (exp != Exp.OK) {
                throw new AssertionError(ctx + ": expected " + (exp == Exp.EITHER ? "IAE or ISE" : exp)
                        + ", but the call returned normally");
            }
            return r;
        }

        static void count(String ctx, Exp exp, String got) {
            OUTCOMES.computeIfAbsent("expected " + exp + " got " + got, k -> new AtomicLong()).incrementAndGet();
        }

        static void fail(String ctx, String msg) {
            throw new AssertionError(ctx + ": " + msg);
        }

        static long tagOf(Obj o, long off) {
            return o.addr() ^ (off * 0x9E3779B97F4A7C15L) ^ 0x5EAF_F022_5EAF_F022L;
        }

        static long[] tagOffsets(Obj o) {
            long u = o.usable() & -8L;
            if (u <= 512) {
                long[] all = new long[(int) (u / 8)];
                for (int i = 0; i < all.length; i++) {
                    all[i] = 8L * i;
                }
                return all;
            }
            return new long[] {0, 8, (u / 2) & -8L, u - 16, u - 8};
        }

        static void writeTags(Obj o) {
            MemorySegment s = MemorySegment.ofAddress(o.addr()).reinterpret(o.usable());
            if (o.usable() <= 65536) {
                s.fill((byte) 0xA5); // every byte of the object is the user's
            }
            for (long off : tagOffsets(o)) {
                s.set(ValueLayout.JAVA_LONG_UNALIGNED, off, tagOf(o, off));
            }
        }

        static void checkTags(String ctx, Obj o) {
            MemorySegment s = MemorySegment.ofAddress(o.addr()).reinterpret(o.usable());
            for (long off : tagOffsets(o)) {
                long v = s.get(ValueLayout.JAVA_LONG_UNALIGNED, off);
                if (v != tagOf(o, off)) {
                    fail(ctx, String.format("live object %s was overwritten at offset %d: 0x%x", o, off, v));
                }
            }
        }

        void checkpoint(String when) {
            String ctx = "checkpoint " + when;
            current[0] = ctx;
            call(ctx + ": rcuBarrier", Exp.OK, () -> {
                heap.rcuBarrier();
                return 0L;
            });
            shrink(ctx + ": shrink");
            long bytes = 0, large = 0;
            long[] perCache = new long[caches.length];
            for (Obj o : live.values()) {
                checkTags(ctx, o);
                bytes += o.usable();
                if (o.kind() == Obj.LARGE) {
                    large++;
                } else if (o.kind() >= 0) {
                    perCache[o.kind()]++;
                }
            }
            SlabAllocator.Stats st = heap.stats();
            if (st.liveBytes() != bytes) {
                fail(ctx, "stats().liveBytes() " + st.liveBytes() + ", model " + bytes + " (" + live.size()
                        + " live objects)");
            }
            if (st.largeAllocations() != large) {
                fail(ctx, "stats().largeAllocations() " + st.largeAllocations() + ", model " + large);
            }
            for (int i = 0; i < caches.length; i++) {
                long active = caches[i].stats().activeObjects();
                if (active != perCache[i]) {
                    fail(ctx, "cache " + caches[i].name() + " activeObjects " + active + ", model " + perCache[i]);
                }
            }
            long errors = heap.rcuStats().freeErrors();
            if (errors != 0) {
                fail(ctx, "rcuStats().freeErrors() " + errors);
            }
        }

        void finish() {
            String ctx = "end of program";
            for (Obj o : new ArrayList<>(live.values())) {
                checkTags(ctx, o);
                call(ctx + ": free " + o, Exp.OK, () -> {
                    heap.free(o.addr());
                    return 0L;
                });
                live.remove(o.addr());
            }
            call(ctx + ": rcuBarrier", Exp.OK, () -> {
                heap.rcuBarrier();
                return 0L;
            });
            if (heap.stats().liveBytes() != 0) {
                fail(ctx, "stats().liveBytes() " + heap.stats().liveBytes() + " after everything was freed");
            }
            for (SlabCache c : caches) {
                call(ctx + ": destroy " + c.name(), Exp.OK, () -> {
                    c.destroy();
                    return 0L;
                });
            }
            call(ctx + ": close", Exp.OK, () -> {
                heap.close();
                return 0L;
            });
            arena.close();
        }
    }
}
