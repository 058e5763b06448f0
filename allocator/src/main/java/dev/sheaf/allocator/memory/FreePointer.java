package dev.sheaf.allocator.memory;

import java.lang.foreign.ValueLayout;
import java.security.SecureRandom;

/*
 * Implementation notes.
 *
 * A link the allocator keeps inside free memory (a slab's free list, a deferred list) is stored
 * hardened, as the kernel's CONFIG_SLAB_FREELIST_HARDENED does:
 *
 *     stored = value ^ key ^ reverseBytes(fieldAddress)
 *
 * with a random key per heap. A user who writes into a freed object (a use after free) or a
 * stray pointer that lands there cannot plant a chosen address: what decodes from the user's
 * bytes is noise, which the reader's validation (inside the slab, an object start, in the state
 * the list requires) rejects before anything is dereferenced. Mixing in the field's own address
 * makes a copied link decode wrongly in any other place. 0 ("end") is encoded too, so an all-zero
 * object is not an end of list either.
 */
/** Encoding of the allocator's links stored in free objects. */
public final class FreePointer {

    private FreePointer() {
    }

    /** A fresh per-heap key; never 0. */
    public static long newKey() {
        long k;
        do {
            k = new SecureRandom().nextLong();
        } while (k == 0);
        return k;
    }

    public static void store(long fieldAddress, long value, long key) {
        NativeMemory.EVERYTHING.set(ValueLayout.JAVA_LONG, fieldAddress, value ^ key ^ Long.reverseBytes(fieldAddress));
    }

    public static long load(long fieldAddress, long key) {
        return NativeMemory.EVERYTHING.get(ValueLayout.JAVA_LONG, fieldAddress) ^ key ^ Long.reverseBytes(fieldAddress);
    }

    /** XORs {@code bits} into the stored word: the decoded value changes by {@code bits}, no decoding needed. */
    public static void xorInto(long fieldAddress, long bits) {
        NativeMemory.EVERYTHING.set(ValueLayout.JAVA_LONG, fieldAddress,
                NativeMemory.EVERYTHING.get(ValueLayout.JAVA_LONG, fieldAddress) ^ bits);
    }
}
