package dev.sheaf.bench.peer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Maps a {@code long} handle to an object (a Netty {@code ByteBuf}, an {@code Arena}) and its
 * native address, so object-style allocators can serve the address-style {@link AllocatorPeer}.
 *
 * <p>Implementation notes: slots are recycled through a Treiber stack of slot indices whose
 * head packs a 32-bit version tag with the index (ABA-safe). {@link #acquire} pops a slot and
 * fills it with plain stores; the handle then travels to whoever frees it through a happens-before
 * edge the workload provides (a queue, a thread join); {@link #release} reads and clears the slot
 * and pushes the index back with a CAS, whose release semantics publish the cleared slot and the
 * {@code next} link to the next popper. {@code next[i]} may be read racily by a popper that then
 * loses its CAS; the version tag guarantees a popper that wins read the value written before the
 * push it observed. Garbage-free. Capacity is fixed; exhaustion is an {@link OutOfMemoryError}.
 */
public final class HandleTable {
    private static final VarHandle HEAD;

    static {
        try {
            HEAD = MethodHandles.lookup().findVarHandle(HandleTable.class, "head", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Object[] objects;
    private final long[] addresses;
    private final int[] next;
    @SuppressWarnings("unused")
    private long p01, p02, p03, p04, p05, p06, p07;
    /** (version << 32) | (index + 1); index + 1 == 0 means empty. */
    private volatile long head;
    @SuppressWarnings("unused")
    private long p11, p12, p13, p14, p15, p16, p17;

    public HandleTable(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        objects = new Object[capacity];
        addresses = new long[capacity];
        next = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            next[i] = i + 1 < capacity ? i + 2 : 0; // stores index + 1 of the next free slot
        }
        head = 1;
    }

    public int capacity() {
        return objects.length;
    }

    /** Stores {@code object} and returns its handle (never 0). */
    public long acquire(Object object, long address) {
        long h;
        int slotPlusOne;
        do {
            h = head;
            slotPlusOne = (int) h;
            if (slotPlusOne == 0) {
                throw new OutOfMemoryError("handle table full: " + objects.length + " live objects");
            }
        } while (!HEAD.compareAndSet(this, h, ((h >>> 32) + 1) << 32 | (next[slotPlusOne - 1] & 0xFFFF_FFFFL)));
        int slot = slotPlusOne - 1;
        objects[slot] = object;
        addresses[slot] = address;
        return slotPlusOne;
    }

    public long address(long handle) {
        return addresses[(int) handle - 1];
    }

    /** Clears the slot of {@code handle} and returns what it held. */
    public Object release(long handle) {
        int slot = (int) handle - 1;
        Object o = objects[slot];
        if (o == null) {
            throw new IllegalStateException("handle " + handle + " is not live");
        }
        objects[slot] = null;
        long h;
        do {
            h = head;
            next[slot] = (int) h;
        } while (!HEAD.compareAndSet(this, h, ((h >>> 32) + 1) << 32 | (slot + 1)));
        return o;
    }

    /** Live handles; exact only when no thread is acquiring or releasing. */
    public int live() {
        int n = 0;
        for (Object o : objects) {
            if (o != null) {
                n++;
            }
        }
        return n;
    }
}
