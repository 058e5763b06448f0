package dev.sheaf.rcu.internal;

import java.lang.management.ManagementFactory;

import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanRegistrationException;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/*
 * Implementation notes.
 *
 * Registers Sheaf's MXBeans on the platform MBeanServer (what jconsole, JMC and JMX exporters
 * read). A name with a colon is a whole ObjectName; any other name becomes
 * dev.sheaf:type=<type>,name=<name>, quoted when it holds characters an ObjectName value cannot.
 * Registration happens once, when the domain or allocator is built; unregistration once, when it
 * closes, and tolerates a bean that someone else already unregistered.
 *
 * Map: objectName; register; unregister.
 */
/** Registration of Sheaf MXBeans on the platform MBeanServer; shared by rcu and the allocator, not API. */
public final class JmxRegistration {

    private JmxRegistration() {
    }

    /**
     * The ObjectName for a user's name.
     *
     * @param name a whole ObjectName (with a colon) or a plain name
     * @param type the type key for a plain name
     * @return the ObjectName
     * @throws IllegalArgumentException if the name is null, empty or malformed
     */
    public static ObjectName objectName(String name, String type) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("JMX name is null or empty");
        }
        try {
            if (name.indexOf(':') >= 0) {
                return new ObjectName(name);
            }
            boolean plain = name.chars().noneMatch(c -> ",=:\"*?\n".indexOf(c) >= 0);
            return new ObjectName("dev.sheaf:type=" + type + ",name=" + (plain ? name : ObjectName.quote(name)));
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException("malformed JMX name '" + name + "'", e);
        }
    }

    /**
     * Registers an MXBean under a name.
     *
     * @param mxbean the MXBean implementation
     * @param name the name (see {@link #objectName})
     * @param type the type key for a plain name
     * @return the name it was registered under
     * @throws IllegalArgumentException if the name is malformed or already registered
     */
    public static ObjectName register(Object mxbean, String name, String type) {
        ObjectName on = objectName(name, type);
        try {
            ManagementFactory.getPlatformMBeanServer().registerMBean(mxbean, on);
            return on;
        } catch (JMException e) {
            throw new IllegalArgumentException("cannot register MXBean " + on + ": " + e.getMessage(), e);
        }
    }

    /**
     * Unregisters a name registered by {@link #register}; null and an already unregistered name are no-ops.
     *
     * @param name the registered name, or null
     */
    public static void unregister(ObjectName name) {
        if (name == null) {
            return;
        }
        try {
            ManagementFactory.getPlatformMBeanServer().unregisterMBean(name);
        } catch (InstanceNotFoundException e) {
            // unregistered by someone else: nothing left to do
        } catch (MBeanRegistrationException e) {
            throw new IllegalStateException("cannot unregister MXBean " + name, e);
        }
    }
}
