/**
 * Sheaf RCU: a user-space read-copy-update domain with epoch-based and quiescent-state-based
 * grace periods, callbacks and polled cookies.
 *
 * <p>The API hands out and accepts Agrona types (idle strategies, agents), so Agrona is read
 * transitively. {@code dev.sheaf.rcu.internal} holds helpers shared with the allocator only.
 */
// requires-*automatic: Agrona ships an Automatic-Module-Name, no module-info; its types are part
// of this API, so it is required transitively all the same.
// module: the qualified export names dev.sheaf.allocator, which is built after this module.
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic", "module"})
module dev.sheaf.rcu {
    requires transitive org.agrona;
    // @GuardedBy and other Error Prone annotations: compile time only.
    requires static com.google.errorprone.annotations;
    // RcuMXBean on the platform MBeanServer (Rcu.Builder.jmxName).
    requires java.management;

    exports dev.sheaf.rcu;
    exports dev.sheaf.rcu.internal to dev.sheaf.allocator;
}
