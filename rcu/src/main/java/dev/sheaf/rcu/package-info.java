/**
 * A user-space RCU (read-copy-update) domain: epoch-based (EBR) and quiescent-state-based (QSBR)
 * read sections, shared grace periods, polled cookies, batched callbacks and barriers.
 *
 * <p>Start with {@link dev.sheaf.rcu.Rcu}: its class documentation is the user's guide (flavors,
 * threads, grace periods and cookies, callbacks, errors), its nested types are the rest of the
 * public API ({@link dev.sheaf.rcu.Rcu.Builder}, {@link dev.sheaf.rcu.Rcu.Reader},
 * {@link dev.sheaf.rcu.Rcu.ReadSection}, {@link dev.sheaf.rcu.Rcu.Stats},
 * {@link dev.sheaf.rcu.Rcu.ReaderReport}). Everything else in the package is package-private;
 * the implementation notes at the top of {@code Rcu.java} map which class holds which concept.
 */
package dev.sheaf.rcu;
