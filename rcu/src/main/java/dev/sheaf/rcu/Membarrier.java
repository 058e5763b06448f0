package dev.sheaf.rcu;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Optional;

/*
 * Implementation notes: the asymmetric fence of Rcu.Flavor.EBR_MEMBARRIER.
 *
 * Linux membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) makes every thread of this process that
 * runs on a CPU now execute a full memory barrier before the call returns (IPIs to those CPUs; a
 * thread that is not running passes through the scheduler, which orders its accesses as well), and
 * the caller fences before and after. Every access of every other thread is thereby either ordered
 * before the caller's post-call accesses or after the caller's pre-call accesses: as if each of those
 * threads had executed a full fence at some point of its program during the call. The grace-period
 * driver pays this (a few hundred nanoseconds) so that readers need no fence of their own.
 *
 * The call goes through FFM: a downcall of libc's variadic syscall(long number, ...), with the three
 * membarrier arguments passed as variadic longs (Linker.Option.firstVariadicArg(1)); the kernel reads
 * int cmd, unsigned flags, int cpu_id from the low halves. SYS_membarrier is 324 on x86_64, the only
 * architecture wired here (other numbers differ per architecture). Availability, decided once per
 * JVM in the holder's static initializer:
 *   - Linux on amd64/x86_64, libc's syscall symbol found, native access granted to this module (a JVM
 *     run with --illegal-native-access=deny and no grant refuses the downcall: IllegalCallerException);
 *   - MEMBARRIER_CMD_QUERY returns a mask with PRIVATE_EXPEDITED (a kernel without membarrier, or a
 *     seccomp filter, answers -1);
 *   - MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED succeeds (process-wide and idempotent: a process must
 *     register before PRIVATE_EXPEDITED is allowed).
 * Anything else leaves the barrier unavailable and the reason recorded; EBR_MEMBARRIER domains then
 * run the fenced EBR protocol (Rcu.readerFence() says which). After a successful registration the
 * kernel does not fail PRIVATE_EXPEDITED; should it ever, barrier() throws IllegalStateException,
 * which aborts the grace period (GracePeriods restarts it; it never completes without the barrier).
 *
 * Map: constants; availability (available, unavailableReason); the barrier; the holder that links
 * and registers.
 */
/** Linux membarrier(PRIVATE_EXPEDITED) through an FFM downcall of libc's syscall(). */
final class Membarrier {
    private static final long SYS_MEMBARRIER_X86_64 = 324;
    private static final long CMD_QUERY = 0;
    private static final long CMD_PRIVATE_EXPEDITED = 1 << 3;
    private static final long CMD_REGISTER_PRIVATE_EXPEDITED = 1 << 4;

    private Membarrier() {
    }

    /**
     * True if this JVM may issue the expedited private membarrier (linked, supported, registered).
     *
     * @return whether {@link #barrier()} may be called
     */
    static boolean available() {
        return Holder.SYSCALL != null;
    }

    /** Why the barrier is unavailable, or "available". */
    static String unavailableReason() {
        return Holder.REASON;
    }

    /**
     * Issues membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED): every running thread of the process
     * executes a full memory barrier before this returns. Only when {@link #available()}.
     *
     * @throws IllegalStateException if the kernel refuses the call
     */
    static void barrier() {
        long r = call(Holder.SYSCALL, CMD_PRIVATE_EXPEDITED);
        if (r != 0) {
            throw new IllegalStateException("membarrier(PRIVATE_EXPEDITED) failed after registration: " + r);
        }
    }

    private static long call(MethodHandle syscall, long cmd) {
        try {
            return (long) syscall.invokeExact(SYS_MEMBARRIER_X86_64, cmd, 0L, 0L);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("membarrier downcall failed", t);
        }
    }

    /** Links and registers on first use; SYSCALL stays null (and REASON says why) if unavailable. */
    @SuppressWarnings("restricted") // the downcall: refused (and caught) where native access is not granted
    private static final class Holder {
        static final MethodHandle SYSCALL;
        static final String REASON;

        static {
            MethodHandle handle = null;
            String reason;
            try {
                reason = platformProblem();
                if (reason == null) {
                    Linker linker = Linker.nativeLinker();
                    Optional<MemorySegment> symbol = linker.defaultLookup().find("syscall");
                    if (symbol.isEmpty()) {
                        reason = "libc has no syscall symbol";
                    } else {
                        MethodHandle h = linker.downcallHandle(symbol.get(),
                                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                                Linker.Option.firstVariadicArg(1));
                        long mask = call(h, CMD_QUERY);
                        if (mask < 0 || (mask & CMD_PRIVATE_EXPEDITED) == 0) {
                            reason = "the kernel does not offer MEMBARRIER_CMD_PRIVATE_EXPEDITED (query: " + mask + ")";
                        } else if (call(h, CMD_REGISTER_PRIVATE_EXPEDITED) != 0) {
                            reason = "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED failed";
                        } else {
                            handle = h;
                            reason = "available";
                        }
                    }
                }
            } catch (IllegalCallerException e) {
                reason = "native access not granted to " + Membarrier.class.getModule() + ": " + e.getMessage();
            } catch (RuntimeException e) {
                reason = "membarrier could not be linked: " + e;
            }
            SYSCALL = handle;
            REASON = reason;
        }

        private static String platformProblem() {
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if (!os.startsWith("linux")) {
                return "not Linux: " + os;
            }
            if (!arch.equals("amd64") && !arch.equals("x86_64")) {
                return "SYS_membarrier is wired for x86_64 only, not " + arch;
            }
            return null;
        }
    }
}
