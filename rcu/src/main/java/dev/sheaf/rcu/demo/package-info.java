/**
 * A runnable demonstration of the rcu domain, not exported: {@link dev.sheaf.rcu.demo.RcuDemo}
 * walks an off-heap linked list with platform and virtual reader threads while a writer replaces
 * nodes and retires them with {@code Rcu.call}; a poisoned node seen by a reader would show a grace
 * period that ended too early.
 */
package dev.sheaf.rcu.demo;
