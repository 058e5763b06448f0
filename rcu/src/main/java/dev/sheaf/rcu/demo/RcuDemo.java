package dev.sheaf.rcu.demo;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import dev.sheaf.rcu.Rcu;

/**
 * A few seconds of RCU at work: reader threads (platform and virtual) walk a small linked list
 * that lives off-heap in one {@link MemorySegment}, while a writer replaces nodes and retires the old
 * ones with {@link Rcu#call(Runnable)}. The callback poisons the node and puts it on a free list for
 * reuse. A reader that ever met a poisoned node would prove a grace period ended too early.
 *
 * <p>Run: {@code ./mvnw -q -pl rcu exec:exec@demo} (optional argument: seconds, default 4).
 */
public final class RcuDemo {
    // node: [0] magic, [8] value, [16] next node offset (0 = end of list; offset 0 is never a node)
    private static final long NODE = 24;
    private static final long LIVE = 0x11FE_11FE_11FE_11FEL;
    private static final long POISON = 0x6B6B_6B6B_6B6B_6B6BL;
    private static final int LENGTH = 16;
    private static final int CAPACITY = 4096;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private RcuDemo() {
    }

    /**
     * Runs the demo and prints what the readers and the writer did.
     *
     * @param args optional: the run's length in seconds (default 4)
     * @throws Exception if a reader or the writer fails
     */
    @SuppressWarnings("try") // the read section resource is used for its scope only
    public static void main(String[] args) throws Exception {
        long seconds = args.length > 0 ? Long.parseLong(args[0]) : 4;
        try (Arena arena = Arena.ofShared(); Rcu rcu = Rcu.builder().name("demo").build()) {
            MemorySegment mem = arena.allocate(NODE * (CAPACITY + 1), 8);
            ConcurrentLinkedQueue<Long> free = new ConcurrentLinkedQueue<>();
            for (long i = 1; i <= CAPACITY; i++) {
                free.add(i * NODE);
            }
            long next = 0;
            for (int i = LENGTH - 1; i >= 0; i--) {
                long n = free.poll();
                mem.set(ValueLayout.JAVA_LONG, n, LIVE);
                mem.set(ValueLayout.JAVA_LONG, n + 8, i);
                mem.set(ValueLayout.JAVA_LONG, n + 16, next);
                next = n;
            }
            AtomicLong head = new AtomicLong(next);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong traversals = new AtomicLong();
            AtomicLong nodesVisited = new AtomicLong();
            AtomicLong poisonSeen = new AtomicLong();
            AtomicLong replaced = new AtomicLong();

            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < 6; r++) {
                Runnable reader = () -> {
                    long walks = 0;
                    long visited = 0;
                    while (!stop.get()) {
                        try (Rcu.ReadSection s = rcu.read()) {
                            long n = head.get();
                            while (n != 0) {
                                if ((long) LONG.getAcquire(mem, n) != LIVE) {
                                    poisonSeen.incrementAndGet();
                                    break;
                                }
                                visited++;
                                n = (long) LONG.getAcquire(mem, n + 16);
                            }
                        }
                        walks++;
                    }
                    traversals.addAndGet(walks);
                    nodesVisited.addAndGet(visited);
                };
                threads.add(r < 2 ? Thread.ofPlatform().name("reader-" + r).start(reader)
                        : Thread.ofVirtual().name("vreader-" + r).start(reader));
            }
            Thread writer = Thread.ofPlatform().name("writer").start(() -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                while (!stop.get()) {
                    Long fresh = free.poll();
                    if (fresh == null) {
                        rcu.barrier(); // every retired node is back on the free list
                        continue;
                    }
                    int pos = rnd.nextInt(LENGTH);
                    long prev = 0;
                    long cur = head.get();
                    for (int i = 0; i < pos; i++) {
                        prev = cur;
                        cur = mem.get(ValueLayout.JAVA_LONG, cur + 16);
                    }
                    long old = cur;
                    mem.set(ValueLayout.JAVA_LONG, fresh + 8, mem.get(ValueLayout.JAVA_LONG, old + 8) + 1);
                    mem.set(ValueLayout.JAVA_LONG, fresh + 16, mem.get(ValueLayout.JAVA_LONG, old + 16));
                    LONG.setRelease(mem, (long) fresh, LIVE);
                    if (prev == 0) {
                        head.set(fresh);
                    } else {
                        LONG.setRelease(mem, prev + 16, (long) fresh); // publish the replacement
                    }
                    rcu.call(() -> {                                      // retire the old node
                        LONG.setRelease(mem, old, POISON);
                        free.add(old);
                    });
                    replaced.incrementAndGet();
                }
            });
            threads.add(writer);
            TimeUnit.SECONDS.sleep(seconds);
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            rcu.barrier();
            Rcu.Stats st = rcu.stats();
            System.out.printf("RCU demo (%d s): %,d list walks (%,d nodes read) by 2 platform + 4 virtual readers,"
                    + " %,d nodes replaced and retired with call()%n", seconds, traversals.get(), nodesVisited.get(),
                    replaced.get());
            System.out.printf("grace periods %,d, callbacks run %,d, longest grace period %.3f ms, stalls %d%n",
                    st.gracePeriods(), st.callbacksInvoked(), st.longestGracePeriodNanos() / 1e6, st.stallsReported());
            boolean ok = poisonSeen.get() == 0 && st.callbacksInvoked() == replaced.get();
            System.out.println(ok ? "VERDICT: OK - no reader ever saw a retired (poisoned) node"
                    : "VERDICT: FAILED - readers saw " + poisonSeen.get() + " poisoned nodes");
            if (!ok) {
                System.exit(1);
            }
        }
    }
}
