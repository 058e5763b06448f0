/**
 * Sheaf for Netty: a {@code ByteBufAllocator} whose direct buffers are Sheaf objects, and
 * event-loop threads that reach Sheaf's per-thread magazines with a field load.
 *
 * <p>The buffers read and write their memory through a memory segment over the whole address
 * space (a restricted FFM method): run with {@code --enable-native-access=dev.sheaf.netty,dev.sheaf.allocator}
 * on the module path, or {@code --enable-native-access=ALL-UNNAMED} on the class path. Netty
 * itself reaches direct buffers' addresses through {@code sun.misc.Unsafe}; on JDK 25 add
 * {@code --sun-misc-unsafe-memory-access=allow}.
 */
module dev.sheaf.netty {
    requires transitive dev.sheaf.allocator;
    requires transitive io.netty.buffer;
    requires transitive io.netty.common;
    // @GuardedBy and other Error Prone annotations: compile time only.
    requires static com.google.errorprone.annotations;

    exports dev.sheaf.netty;
}
