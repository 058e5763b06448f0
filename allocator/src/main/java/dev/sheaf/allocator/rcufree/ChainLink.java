package dev.sheaf.allocator.rcufree;

import dev.sheaf.allocator.memory.FreePointer;


/*
 * Implementation notes: the 8-byte in-object link (the RFC's rcu_ptr).
 *
 * Objects waiting for a grace period are chained through one 8-byte field inside each object,
 * at a caller-chosen offset. The offset may differ from object to object (different caches,
 * different structs), so the link stored in object A must say both where the next object B
 * starts and where B keeps its own link. Both fit in one long because user-space addresses
 * are below 2^48 and link fields are 8-byte aligned:
 *
 *     link = nextAddress | (nextLinkOffset >>> 3) << 48          0 = end of chain
 *
 * so a link offset may be at most 8 * (2^16 - 1) bytes. The kernel instead finds the start of
 * the object from the field's address through the slab; that needs an allocator lookup per
 * object while draining, the packed form needs none.
 *
 * Hardening (the kernel's CONFIG_SLAB_FREELIST_HARDENED): the field lives in memory the user
 * can still write (a stray store, a use after freeRcu), so the word stored is never the link
 * itself but
 *
 *     stored = link ^ key ^ Long.reverseBytes(fieldAddress)
 *
 * with a random per-engine key and the address of the field itself (FreePointer, shared with the
 * allocator's own free links).
 * The end of a chain (link 0) is encoded the same way, so a field a user zeroed does not read
 * as a clean end either. A value the user wrote decodes to noise; a value copied from another
 * field decodes to noise too (the field address differs); a value that names a real object
 * would need the key. Decoding is two xors, encoding the same: no extra memory access.
 *
 * Two chain shapes use the field:
 *   - the deferred list of freeRcuNoLock (a lock-free Treiber stack) is singly linked: the field
 *     holds the link to the next object ({@link #next}/{@link #setNext});
 *   - a batch chain (an open OpenBatch batch, a sealed SealedBatch) is XOR-linked: the field holds
 *     packed(prev) ^ packed(next) ({@link #neighbours}/{@link #setNeighbours}), where 0 stands for
 *     "no neighbour", and the engine holds both ends (head = newest, tail = oldest, packed). From
 *     the head, next = neighbours(cur) ^ prev; from the tail, prev = neighbours(cur) ^ next. So the
 *     chain can be walked from either end, and one corrupt field costs nothing: the walk from the
 *     other end reaches every object up to it.
 * Appending a new head h to a chain whose head is g writes h's field as packed(g) ^ 0 and XORs
 * packed(h) into g's stored word ({@link #addNeighbour}: one load, one xor, one store, and no
 * decoding, since the hardening terms cancel in the xor). A deferred chain that enters a batch is
 * rewritten into the XOR form as it is walked (each object's successor is known and validated
 * before its field is rewritten); the stack itself stays singly linked.
 *
 * Validation rule (callers of next()/neighbours(), see RcuFreeEngine's and BatchDrainer's notes): a
 * decoded link is never dereferenced before RcuFreeTarget#isPending(address, linkOffset) says it
 * designates a pending object with room for the field, and every walk is bounded by the count (or
 * bytes) its owner knows independently of the links. A link that fails either check is reported,
 * never followed. On the deferred list the objects behind it are lost (they stay pending,
 * untouched); on a batch chain the drainer walks on from the tail, and only the objects between two
 * bad fields are lost.
 *
 * Memory ordering: the link is written with a plain store by the thread that owns the object
 * at that moment and read by the drainer after a happens-before edge (a lock release/acquire
 * or a CAS publish of the chain head), never concurrently by the engine (a racing user store
 * is misuse, caught by the validation rule). The XOR into the previous head happens under the
 * same lock as the write of the new head, so neither needs a locked instruction.
 *
 * Map: checkLinkField (the allocator's check at claim) -> pack / address / linkOffset -> the singly
 * linked form (next, setNext) -> the XOR form (neighbours, setNeighbours, addNeighbour).
 */
/** Encoding and raw access of the 8-byte in-object link used by the free-after-grace-period chains. */
public final class ChainLink {

    static final int ADDRESS_BITS = 48;
    static final long ADDRESS_MASK = (1L << ADDRESS_BITS) - 1;
    /** Largest link offset the packed form can carry. */
    static final long MAX_LINK_OFFSET = ((1L << (64 - ADDRESS_BITS)) - 1) << 3;

    private ChainLink() {
    }

    /**
     * Checks that an object of {@code size} usable bytes at {@code address} can carry a link at
     * {@code linkOffset}.
     *
     * @param address    the object's start
     * @param linkOffset the offset of its link field
     * @param size       its usable size in bytes
     * @throws IllegalArgumentException the field does not fit in the object, the object or the offset
     *                                  is not 8-byte aligned (the packed form drops the offset's low
     *                                  3 bits), or it lies beyond {@link #MAX_LINK_OFFSET}
     */
    public static void checkLinkField(long address, long linkOffset, long size) {
        if (linkOffset < 0 || linkOffset > MAX_LINK_OFFSET || linkOffset > size - Long.BYTES
                || ((address | linkOffset) & (Long.BYTES - 1)) != 0 || (address & ~ADDRESS_MASK) != 0) {
            throw new IllegalArgumentException("link field at offset " + linkOffset + " of object 0x"
                    + Long.toHexString(address) + " (" + size + " usable bytes) must be an 8-byte field inside the object at an offset that is"
                    + " a multiple of 8 and <= " + MAX_LINK_OFFSET + ", in an object that starts 8-byte aligned");
        }
    }

    static long pack(long address, long linkOffset) {
        return address | (linkOffset >>> 3) << ADDRESS_BITS;
    }

    static long address(long link) {
        return link & ADDRESS_MASK;
    }

    static long linkOffset(long link) {
        return (link >>> ADDRESS_BITS) << 3;
    }

    /** Address of the link field of the object {@code link} designates. */
    private static long field(long link) {
        return address(link) + linkOffset(link);
    }

    /**
     * Reads and decodes the link stored in the object {@code link} designates. The caller must
     * know that object to be pending (see the validation rule); the result is untrusted until
     * checked the same way.
     */
    static long next(long link, long key) {
        return FreePointer.load(field(link), key);
    }

    /** Encodes {@code next} (0: end of chain, encoded too) into the link field of the object {@code link} designates. */
    static void setNext(long link, long next, long key) {
        FreePointer.store(field(link), next, key);
    }

    /**
     * Reads and decodes the XOR of the neighbours stored in the batch-chain object {@code link}
     * designates: packed(prev) ^ packed(next). Same trust rule as {@link #next}.
     */
    static long neighbours(long link, long key) {
        return FreePointer.load(field(link), key);
    }

    /**
     * Encodes {@code prevXorNext} (packed(prev) ^ packed(next), 0 standing for no neighbour) into
     * the link field of the object {@code link} designates.
     */
    static void setNeighbours(long link, long prevXorNext, long key) {
        FreePointer.store(field(link), prevXorNext, key);
    }

    /**
     * XORs {@code neighbour} (packed) into the stored word of the batch-chain object {@code link}
     * designates, adding it as a neighbour where there was none (0): the key and field-address
     * terms stay as they are, so this is one load, one xor and one store.
     */
    static void addNeighbour(long link, long neighbour) {
        FreePointer.xorInto(field(link), neighbour);
    }
}
