package dev.sheaf.bench.harness;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/*
 * Implementation notes. Linux only, best effort: glibc's sched_getaffinity/sched_setaffinity and
 * gettid through FFM, the process's threads from /proc/self/task. Every method answers "unavailable"
 * (null, false, -1) rather than throwing when the platform lacks any of it, so the harness runs
 * unchanged elsewhere and only says that it could not isolate the thread. A thread's affinity is
 * inherited by threads it creates, which is why Isolation re-pins existing threads and relies on
 * inheritance for threads started later by the (already re-pinned) others.
 */
/** CPU affinity of the process's threads and their scheduler state, for the latency workload. */
@SuppressWarnings("restricted") // linking libc; the harness runs with --enable-native-access
final class CpuAffinity {
    /** Bytes of a glibc cpu_set_t (1024 CPUs). */
    private static final int SET_BYTES = 128;
    private static final Path TASKS = Path.of("/proc/self/task");
    private static final MethodHandle GET;
    private static final MethodHandle SET;
    private static final MethodHandle GETTID;

    static {
        MethodHandle get = null;
        MethodHandle set = null;
        MethodHandle tid = null;
        try {
            if (Files.isDirectory(TASKS)) {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                FunctionDescriptor affinity = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);
                var g = libc.find("sched_getaffinity");
                var s = libc.find("sched_setaffinity");
                var t = libc.find("gettid");
                if (g.isPresent() && s.isPresent() && t.isPresent()) {
                    get = linker.downcallHandle(g.get(), affinity);
                    set = linker.downcallHandle(s.get(), affinity);
                    tid = linker.downcallHandle(t.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT));
                }
            }
        } catch (RuntimeException | LinkageError e) {
            get = null;
            set = null;
            tid = null;
        }
        GET = get;
        SET = set;
        GETTID = tid;
    }

    private CpuAffinity() {
    }

    static boolean available() {
        return GETTID != null;
    }

    /** The calling thread's kernel thread id, or -1. */
    static int currentTid() {
        if (!available()) {
            return -1;
        }
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            return -1;
        }
    }

    /** The CPUs thread {@code tid} may run on (0: the calling thread), or null. */
    static BitSet get(int tid) {
        if (!available()) {
            return null;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment set = a.allocate(SET_BYTES, 8);
            int rc = (int) GET.invokeExact(tid, (long) SET_BYTES, set);
            return rc == 0 ? BitSet.valueOf(set.toArray(ValueLayout.JAVA_LONG)) : null;
        } catch (Throwable t) {
            return null;
        }
    }

    /** Restricts thread {@code tid} (0: the calling thread) to {@code cpus}; false if that failed. */
    static boolean set(int tid, BitSet cpus) {
        if (!available() || cpus.isEmpty() || cpus.length() > SET_BYTES * 8) {
            return false;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment set = a.allocate(SET_BYTES, 8);
            long[] words = cpus.toLongArray();
            MemorySegment.copy(words, 0, set, ValueLayout.JAVA_LONG, 0, words.length);
            return (int) SET.invokeExact(tid, (long) SET_BYTES, set) == 0;
        } catch (Throwable t) {
            return false;
        }
    }

    /** Kernel thread ids of the process's threads now (empty when /proc is unavailable). */
    static List<Integer> tasks() {
        List<Integer> ids = new ArrayList<>();
        try (DirectoryStream<Path> d = Files.newDirectoryStream(TASKS)) {
            for (Path p : d) {
                ids.add(Integer.parseInt(p.getFileName().toString()));
            }
        } catch (IOException | RuntimeException e) {
            ids.clear();
        }
        return ids;
    }

    /** The thread's name (its {@code comm}, at most 15 characters), or "?" if it is gone. */
    static String name(int tid) {
        try {
            return Files.readString(TASKS.resolve(tid + "/comm")).strip();
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    /** True if the thread is running or waiting for a CPU (state R in its stat line). */
    static boolean runnable(int tid) {
        try {
            String stat = Files.readString(TASKS.resolve(tid + "/stat"));
            int close = stat.lastIndexOf(')'); // the name may hold spaces and parentheses
            return close > 0 && close + 2 < stat.length() && stat.charAt(close + 2) == 'R';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The calling thread's time spent waiting for a CPU while runnable (nanoseconds, from
     * {@code /proc/thread-self/schedstat}) and its involuntary context switches (from
     * {@code /proc/thread-self/status}): {@code {waitNanos, involuntarySwitches}}, or null. Shows
     * whether something else took the thread's CPU. Reads /proc: allocates, call outside measurements.
     */
    static long[] schedWait() {
        try {
            String[] stat = Files.readString(Path.of("/proc/thread-self/schedstat")).strip().split("\\s+");
            long switches = -1;
            for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
                if (line.startsWith("nonvoluntary_ctxt_switches:")) {
                    switches = Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
                }
            }
            return stat.length >= 2 && switches >= 0 ? new long[] {Long.parseLong(stat[1]), switches} : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Counts the process's runnable threads now and adds the names of those not in {@code skip}
     * (kernel thread ids) to {@code names}. Reads /proc: allocates, for use outside measurements.
     */
    static int runnableThreads(Set<Integer> skip, Set<String> names) {
        int n = 0;
        for (int tid : tasks()) {
            if (runnable(tid)) {
                n++;
                if (!skip.contains(tid)) {
                    names.add(name(tid));
                }
            }
        }
        return n;
    }

    /**
     * The calling thread alone on one CPU (the highest it may use), every other thread of the
     * process on the remaining ones; threads those others start later inherit the remaining CPUs.
     * {@link #close()} gives each thread its mask back (threads started meanwhile get the calling
     * thread's original mask).
     */
    static final class Isolation implements AutoCloseable {
        final int cpu;
        final BitSet others;
        private final int selfTid;
        private final BitSet original;
        private final Map<Integer, BitSet> saved = new HashMap<>();

        private Isolation(int cpu, BitSet others, int selfTid, BitSet original) {
            this.cpu = cpu;
            this.others = others;
            this.selfTid = selfTid;
            this.original = original;
        }

        /** Isolates the calling thread, or returns null (not Linux, fewer than 2 CPUs allowed, or refused). */
        static Isolation ofCurrentThread() {
            int self = currentTid();
            BitSet original = self < 0 ? null : get(0);
            if (original == null || original.cardinality() < 2) {
                return null;
            }
            int cpu = original.length() - 1;
            BitSet others = (BitSet) original.clone();
            others.clear(cpu);
            Isolation iso = new Isolation(cpu, others, self, original);
            BitSet mine = new BitSet();
            mine.set(cpu);
            if (!set(0, mine)) {
                return null;
            }
            // Twice: a thread started by one not yet re-pinned during the first pass inherited the old mask.
            for (int pass = 0; pass < 2; pass++) {
                for (int tid : tasks()) {
                    if (tid != self && !iso.saved.containsKey(tid)) {
                        BitSet m = get(tid);
                        if (m != null && set(tid, others)) {
                            iso.saved.put(tid, m);
                        }
                    }
                }
            }
            return iso;
        }

        /** Threads other than the isolated one that may run on its CPU now. */
        int threadsSharingCpu() {
            int n = 0;
            for (int tid : tasks()) {
                BitSet m = tid == selfTid ? null : get(tid);
                if (m != null && m.get(cpu)) {
                    n++;
                }
            }
            return n;
        }

        @Override
        public void close() {
            for (int tid : tasks()) {
                if (tid != selfTid) {
                    set(tid, saved.getOrDefault(tid, original));
                }
            }
            set(0, original);
        }
    }
}
