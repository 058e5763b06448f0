package dev.sheaf.allocator.rcufree;

import dev.sheaf.allocator.memory.FreePointer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Test access to an open batch (OpenBatch) for the jcstress test of the chain hand-over: an owner
 * adds three off-heap objects with different link offsets, one lock hold per object as freeRcu
 * does (each add writes the new head's field and XORs into the old head's), while a drainer seals
 * the batch under the same lock. Each sealed batch is walked from both ends as the drainer does,
 * checking every XOR-linked field (hardened links under a fresh key).
 */
public final class OpenBatchHandOffProbe {

    private static final long[] OFFSETS = {8, 48, 112};
    private static final long SIZE = 128;

    private final long key = FreePointer.newKey();
    private final OpenBatch local = new OpenBatch(null, 0, key);
    /** Keeps the auto arena's memory reachable: only raw addresses are used below. */
    private final MemorySegment memory;
    private final long[] nodes = new long[OFFSETS.length];
    private final int[] seen = new int[OFFSETS.length];
    private int corrupt;
    private int sealedByDrainer;
    private int sealedByArbiter;

    public OpenBatchHandOffProbe() {
        memory = Arena.ofAuto().allocate(SIZE * OFFSETS.length, 64);
        for (int i = 0; i < nodes.length; i++) {
            nodes[i] = ChainLink.pack(memory.address() + i * SIZE, OFFSETS[i]);
        }
    }

    /** The owner: three freeRcu-like adds, each under its own lock hold. */
    public void ownerAddAll() {
        for (long node : nodes) {
            local.lock();
            try {
                local.addLinked(ChainLink.address(node), ChainLink.linkOffset(node), SIZE, 0L);
            } finally {
                local.unlock();
            }
        }
    }

    /** The drainer: seals whatever the batch holds now and walks it. */
    public void drainerSeal() {
        sealedByDrainer = sealAndWalk();
    }

    /** After both: seals the rest and walks it. */
    public void arbiterSeal() {
        sealedByArbiter = sealAndWalk();
    }

    private int sealAndWalk() {
        SealedBatch b = new SealedBatch(0);
        local.lock();
        try {
            if (local.objects() == 0) {
                return 0;
            }
            local.moveTo(b);
        } finally {
            local.unlock();
        }
        walk(b);
        return b.chainCount;
    }

    /** Both walks of BatchDrainer.freeChain, every field checked: each must cover the chain exactly. */
    private void walk(SealedBatch b) {
        int count = b.chainCount;
        long before = 0;
        long cur = b.chainHead;
        for (int i = 1; ; i++) {
            if (!see(cur, true)) {
                return;
            }
            long next = ChainLink.neighbours(cur, key) ^ before;
            if (i == count) {
                if (next != 0 || cur != b.chainTail) {
                    corrupt++;
                }
                break;
            }
            before = cur;
            cur = next;
        }
        long after = 0;
        cur = b.chainTail;
        for (int i = 1; ; i++) {
            if (!see(cur, false)) {
                return;
            }
            long prev = ChainLink.neighbours(cur, key) ^ after;
            if (i == count) {
                if (prev != 0 || cur != b.chainHead) {
                    corrupt++;
                }
                return;
            }
            after = cur;
            cur = prev;
        }
    }

    private boolean see(long link, boolean count) {
        for (int i = 0; i < nodes.length; i++) {
            if (nodes[i] == link) {
                if (count) {
                    seen[i]++;
                }
                return true;
            }
        }
        corrupt++;
        return false;
    }

    public int sealedByDrainer() {
        return sealedByDrainer;
    }

    public int sealedByArbiter() {
        return sealedByArbiter;
    }

    /** Links that named no object of the probe, or a walk that ended off the engine-held end. */
    public int corrupt() {
        java.lang.ref.Reference.reachabilityFence(memory);
        return corrupt;
    }

    /** 1 if every object was walked from the head exactly once over both batches. */
    public int eachOnce() {
        for (int s : seen) {
            if (s != 1) {
                return 0;
            }
        }
        return 1;
    }
}
