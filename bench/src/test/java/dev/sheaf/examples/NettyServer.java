package dev.sheaf.examples;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.netty.SheafByteBufAllocator;
import dev.sheaf.netty.SheafEventLoopThreads;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * README recipe "A Netty server": an echo server on loopback whose buffers are Sheaf objects, and
 * a client that sends one message and waits for it to come back. The README's code block is the
 * region between the example markers, verbatim.
 */
public final class NettyServer {

    private NettyServer() {
    }

    /** Writes back whatever it reads (the buffer goes back out, and is released after the write). */
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    /**
     * Runs the recipe.
     *
     * @param args unused
     * @return the message as the client read it back
     * @throws Exception a bind, connect or wait failed
     */
    public static String run(String[] args) throws Exception {
        ServerBootstrap bootstrap = new ServerBootstrap();
        // example:begin
        SlabAllocator heap = SlabAllocator.create();            // close it after the event loops
        SheafByteBufAllocator alloc = SheafByteBufAllocator.create(heap);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(SheafEventLoopThreads.factory("io-", false), NioIoHandler.newFactory());
        bootstrap.group(group).option(ChannelOption.ALLOCATOR, alloc).childOption(ChannelOption.ALLOCATOR, alloc);
        // example:end
        try {
            Channel server = bootstrap.channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new Echo());
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            CompletableFuture<String> echoed = new CompletableFuture<>();
            Channel client = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .option(ChannelOption.ALLOCATOR, alloc)
                    .handler(new ChannelInboundHandlerAdapter() {
                        private final StringBuilder received = new StringBuilder();

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ByteBuf b = (ByteBuf) msg;
                            received.append(b.toString(StandardCharsets.UTF_8));
                            b.release();
                            if (received.length() >= 5) {
                                echoed.complete(received.toString());
                            }
                        }
                    })
                    .connect(server.localAddress()).sync().channel();
            client.writeAndFlush(alloc.directBuffer().writeBytes("hello".getBytes(StandardCharsets.UTF_8))).sync();
            String result = echoed.get(10, TimeUnit.SECONDS);
            client.close().sync();
            server.close().sync();
            return result;
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            heap.close();
        }
    }

    /**
     * Runs the recipe.
     *
     * @param args unused
     * @throws Exception a bind, connect or wait failed
     */
    public static void main(String[] args) throws Exception {
        System.out.println(run(args));
    }
}
