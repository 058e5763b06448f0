/**
 * Building blocks the rcu domain shares with the allocator: not exported; shared with
 * {@code dev.sheaf.allocator} only.
 *
 * <p>{@link dev.sheaf.rcu.internal.PerThreadTable} finds the calling platform thread's own object
 * (reader slot, callback queue, magazine, open batch) with one array load and a compare.
 * {@link dev.sheaf.rcu.internal.Dormancy} lets an idle worker thread doze and producers wake it;
 * its notes hold the memory-ordering argument both workers rely on.
 */
package dev.sheaf.rcu.internal;
