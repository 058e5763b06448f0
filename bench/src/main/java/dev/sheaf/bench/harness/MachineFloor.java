package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import java.lang.foreign.Arena;

/**
 * No allocator at all: every thread gets back the same 64-byte block of its own, and freeing does
 * nothing. Run through the latency workload, it measures what the thread layout, the schedule, the
 * clock and the machine cost a request by themselves (timer interrupts, hypervisor exits, the
 * other CPU's flood), which no allocator can go below. A peer's tail percentiles are only its
 * own where they stand clearly above this floor.
 */
final class MachineFloor implements AllocatorPeer {
    static final String NAME = "floor";
    private static final long BLOCK = 64;

    private final Arena arena = Arena.ofShared();
    private final ThreadLocal<Long> blocks = ThreadLocal.withInitial(this::newBlock);

    private long newBlock() {
        return arena.allocate(BLOCK, BLOCK).address();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public long allocate(long size) {
        if (size > BLOCK) {
            throw new IllegalArgumentException(size + " bytes asked of the " + BLOCK + "-byte floor block");
        }
        return blocks.get();
    }

    @Override
    public void free(long handle, long size) {
        // nothing to free: the block is the thread's for the whole run
    }

    @Override
    public long maxSize() {
        return BLOCK;
    }

    @Override
    public String deferredFreeKind() {
        return "nothing (no allocator)";
    }

    @Override
    public void close() {
        arena.close();
    }
}
