/**
 * Netty integration of the Sheaf allocator.
 *
 * <ul>
 *   <li>{@link dev.sheaf.netty.SheafByteBufAllocator}: a {@code ByteBufAllocator} for
 *       {@code ChannelOption.ALLOCATOR}; its direct buffers are Sheaf objects, recycled
 *       {@code ByteBuf}s, freed into Sheaf when their reference count reaches zero.</li>
 *   <li>{@link dev.sheaf.netty.SheafByteBufAllocatorMetric}: Netty's metric plus Sheaf's reserved
 *       bytes and per-size-class rows.</li>
 *   <li>{@link dev.sheaf.netty.SheafEventLoopThreads}: a thread factory for event loop groups whose
 *       threads are Netty {@code FastThreadLocalThread}s and Sheaf {@code SheafThread}s at once.</li>
 * </ul>
 */
package dev.sheaf.netty;
