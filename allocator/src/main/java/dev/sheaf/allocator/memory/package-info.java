/**
 * Native memory primitives of the allocator: internal, not API and not to be exported.
 *
 * <ul>
 *   <li>{@link dev.sheaf.allocator.memory.NativeMemory}: mmap/munmap/madvise and the current CPU
 *       through FFM downcalls, and a segment over all memory for unchecked access.</li>
 *   <li>{@link dev.sheaf.allocator.memory.FreePointer}: links kept in free memory, hardened with
 *       a per-heap key (SLUB's freelist hardening), stored and loaded.</li>
 * </ul>
 */
package dev.sheaf.allocator.memory;
