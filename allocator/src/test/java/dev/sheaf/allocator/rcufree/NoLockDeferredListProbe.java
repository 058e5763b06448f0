package dev.sheaf.allocator.rcufree;

import dev.sheaf.allocator.memory.FreePointer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Test access to the package-private {@link NoLockDeferredList} for the jcstress test: two off-heap
 * objects with different link offsets (hardened links under a fresh key), and counts of how often
 * each was taken.
 */
public final class NoLockDeferredListProbe {

    private static final long OFFSET_A = 8;
    private static final long OFFSET_B = 48;

    private final NoLockDeferredList list = new NoLockDeferredList(FreePointer.newKey());
    /** Keeps the auto arena's memory reachable: only raw addresses are used below. */
    private final MemorySegment memory;
    private final long a;
    private final long b;
    private int seenA;
    private int seenB;
    private int corrupt;

    public NoLockDeferredListProbe() {
        memory = Arena.ofAuto().allocate(128, 64);
        a = memory.address();
        b = memory.address() + 64;
    }

    public void pushA() {
        list.push(a, OFFSET_A, 64);
    }

    public void pushB() {
        list.push(b, OFFSET_B, 64);
    }

    /** Takes the whole list and counts what it held (called by one thread at a time). */
    public void takeAll() {
        int guard = 0;
        long walked = 0;
        for (long l = list.takeAll(); l != 0 && guard < 4; l = ChainLink.next(l, list.key), guard++) {
            long addr = ChainLink.address(l);
            long off = ChainLink.linkOffset(l);
            if (addr == a && off == OFFSET_A) {
                seenA++;
            } else if (addr == b && off == OFFSET_B) {
                seenB++;
            } else {
                corrupt++;
                return;
            }
            walked += 64;
        }
        list.taken(walked);
    }

    public int seenA() {
        return seenA;
    }

    public int seenB() {
        return seenB;
    }

    public int corrupt() {
        java.lang.ref.Reference.reachabilityFence(memory);
        return corrupt;
    }

    /** Bytes the list still counts: 0 once everything pushed was taken (the walk bound never runs behind). */
    public long bytesLeft() {
        return list.bytes();
    }
}
