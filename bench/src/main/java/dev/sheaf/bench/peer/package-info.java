/**
 * The allocators compared: each behind {@link dev.sheaf.bench.peer.AllocatorPeer}, registered in
 * {@link dev.sheaf.bench.peer.Peers}. Native peers (glibc, mimalloc, tcmalloc) are FFM downcalls;
 * a peer whose library is missing throws {@link dev.sheaf.bench.peer.PeerUnavailableException}
 * and the harness skips it with a note.
 */
package dev.sheaf.bench.peer;
