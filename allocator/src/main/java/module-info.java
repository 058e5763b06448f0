/**
 * Sheaf allocator: an off-heap slab allocator with per-thread sheaves, a barn, kmalloc size
 * classes and frees deferred past an RCU grace period.
 *
 * <p>The allocator calls restricted FFM methods (native allocation, segment reinterpretation):
 * run with {@code --enable-native-access=dev.sheaf.allocator} on the module path, or
 * {@code --enable-native-access=ALL-UNNAMED} on the class path.
 */
// Agrona ships an Automatic-Module-Name, no module-info; its types are part of this API, so it is
// required transitively all the same.
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"})
module dev.sheaf.allocator {
    requires transitive dev.sheaf.rcu;
    requires transitive org.agrona;
    // @GuardedBy and other Error Prone annotations: compile time only.
    requires static com.google.errorprone.annotations;
    requires jdk.jfr;
    // Default capacity reads the machine's physical memory (com.sun.management.OperatingSystemMXBean).
    requires jdk.management;
    // SlabAllocatorMXBean on the platform MBeanServer (SlabAllocator.Builder.jmxName).
    requires java.management;

    exports dev.sheaf.allocator;
}
