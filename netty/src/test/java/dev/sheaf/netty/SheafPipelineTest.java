package dev.sheaf.netty;

import dev.sheaf.allocator.SlabAllocator;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Netty's NIO transport over 127.0.0.1 with Sheaf buffers on both sides, leak detection at PARANOID:
 * every byte comes back, no leak is reported, and Sheaf's live bytes return to the baseline.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SheafPipelineTest {

    static {
        LeakReports.install();
    }

    private static final int MAX_MESSAGE = 1 << 20;
    private static final long ECHO_BYTES = 40L << 20;
    private static final long HTTP_BYTES = 12L << 20;

    private SlabAllocator sheaf;
    private SheafByteBufAllocator alloc;
    private EventLoopGroup group;
    private long baseline;

    @BeforeEach
    void setUp() {
        assertEquals(ResourceLeakDetector.Level.PARANOID, ResourceLeakDetector.getLevel());
        LeakReports.clear();
        sheaf = SlabAllocator.builder().capacity(1L << 30).build();
        alloc = SheafByteBufAllocator.create(sheaf);
        group = new MultiThreadIoEventLoopGroup(2, SheafEventLoopThreads.factory("sheaf-io-", true),
                NioIoHandler.newFactory());
        baseline = sheaf.stats().liveBytes();
    }

    @AfterEach
    void tearDown() {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        try {
            alloc.releaseReservedSpans();
            assertEquals(baseline, sheaf.stats().liveBytes(), "Sheaf's live bytes back to the baseline");
            flushLeakDetector();
            assertEquals(List.of(), LeakReports.reports(), "no leak reported at PARANOID");
        } finally {
            sheaf.close();
        }
    }

    /**
     * Collects garbage and lets the detector look at its queue (it does so when it tracks a buffer), so
     * a buffer dropped without release would be reported by now.
     */
    private void flushLeakDetector() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            alloc.directBuffer(8).release();
        }
    }

    /** Message sizes from 1 B to 1 MiB, log-uniform, both ends included, until total bytes. */
    private static List<Integer> sizes(long total, long seed) {
        Random rnd = new Random(seed);
        List<Integer> out = new ArrayList<>(List.of(1, MAX_MESSAGE));
        long sum = 1 + MAX_MESSAGE;
        while (sum < total) {
            int bits = rnd.nextInt(21);
            int size = Math.max(1, Math.min(MAX_MESSAGE, (1 << bits) + rnd.nextInt(1 << bits)));
            out.add(size);
            sum += size;
        }
        return out;
    }

    private static byte[] body(int index, int size) {
        byte[] b = new byte[size];
        new Random(index * 1_000_003L + size).nextBytes(b);
        return b;
    }

    private Channel bindServer(ChannelInitializer<SocketChannel> child) {
        return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .option(ChannelOption.ALLOCATOR, alloc).childOption(ChannelOption.ALLOCATOR, alloc)
                .childHandler(child).bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
    }

    private Channel connect(Channel server, ChannelInitializer<SocketChannel> handler) {
        return new Bootstrap().group(group).channel(NioSocketChannel.class).option(ChannelOption.ALLOCATOR, alloc)
                .handler(handler).connect(server.localAddress()).syncUninterruptibly().channel();
    }

    @Test
    void echoEveryByteWithLengthFraming() throws Exception {
        List<Integer> sizes = sizes(ECHO_BYTES, 17);
        Channel server = bindServer(new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(MAX_MESSAGE + 4, 0, 4, 0, 0),
                        new SimpleChannelInboundHandler<ByteBuf>(false) {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
                                ctx.writeAndFlush(frame); // the frame, length prefix included, goes back
                            }
                        });
            }
        });
        EchoClient client = new EchoClient(sizes);
        Channel ch = connect(server, new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel c) {
                c.pipeline().addLast(new LengthFieldBasedFrameDecoder(MAX_MESSAGE + 4, 0, 4, 0, 0), client);
            }
        });
        assertEquals(sizes.size(), client.done.get(150, TimeUnit.SECONDS));
        assertTrue(client.receivedBytes >= ECHO_BYTES);
        ch.close().syncUninterruptibly();
        server.close().syncUninterruptibly();
    }

    /** Keeps a window of messages in flight; checks each echoed frame against what it sent. */
    private final class EchoClient extends SimpleChannelInboundHandler<ByteBuf> {
        private static final int WINDOW = 8;
        private final List<Integer> sizes;
        final CompletableFuture<Integer> done = new CompletableFuture<>();
        private int sent;
        private int received;
        long receivedBytes;

        EchoClient(List<Integer> sizes) {
            this.sizes = sizes;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            for (int i = 0; i < WINDOW && sent < sizes.size(); i++) {
                sendNext(ctx);
            }
            ctx.flush();
        }

        private void sendNext(ChannelHandlerContext ctx) {
            int size = sizes.get(sent);
            ByteBuf msg = ctx.alloc().directBuffer(4 + size);
            msg.writeInt(size).writeBytes(body(sent, size));
            sent++;
            ctx.write(msg);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            try {
                int size = sizes.get(received);
                assertEquals(4 + size, frame.readableBytes(), "frame " + received);
                assertEquals(size, frame.readInt());
                assertArrayEquals(body(received, size), ByteBufUtil.getBytes(frame), "frame " + received);
                received++;
                receivedBytes += size;
                if (sent < sizes.size()) {
                    sendNext(ctx);
                    ctx.flush();
                } else if (received == sizes.size()) {
                    done.complete(received);
                }
            } catch (Throwable e) {
                done.completeExceptionally(e);
                throw e;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            done.completeExceptionally(cause);
            ctx.close();
        }
    }

    @Test
    void httpServerEchoesBodies() throws Exception {
        List<Integer> sizes = sizes(HTTP_BYTES, 29);
        Channel server = bindServer(new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_MESSAGE + 1024),
                        new SimpleChannelInboundHandler<FullHttpRequest>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                                FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                        HttpResponseStatus.OK, req.content().retainedDuplicate());
                                HttpUtil.setContentLength(resp, resp.content().readableBytes());
                                resp.headers().set("x-seq", req.headers().get("x-seq"));
                                ctx.writeAndFlush(resp);
                            }
                        });
            }
        });
        HttpClient client = new HttpClient(sizes);
        Channel ch = connect(server, new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel c) {
                c.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(MAX_MESSAGE + 1024), client);
            }
        });
        assertEquals(sizes.size(), client.done.get(150, TimeUnit.SECONDS));
        ch.close().syncUninterruptibly();
        server.close().syncUninterruptibly();
    }

    /** One request at a time on a keep-alive connection; checks each response body. */
    private final class HttpClient extends SimpleChannelInboundHandler<FullHttpResponse> {
        private final List<Integer> sizes;
        final CompletableFuture<Integer> done = new CompletableFuture<>();
        private int next;

        HttpClient(List<Integer> sizes) {
            this.sizes = sizes;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            send(ctx);
        }

        private void send(ChannelHandlerContext ctx) {
            int size = sizes.get(next);
            ByteBuf content = ctx.alloc().directBuffer(size).writeBytes(body(next, size));
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/echo", content);
            HttpUtil.setContentLength(req, size);
            req.headers().set(HttpHeaderNames.HOST, "127.0.0.1").set("x-seq", next);
            ctx.writeAndFlush(req);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse resp) {
            try {
                assertEquals(HttpResponseStatus.OK, resp.status());
                assertEquals(Integer.toString(next), resp.headers().get("x-seq"));
                assertArrayEquals(body(next, sizes.get(next)), ByteBufUtil.getBytes(resp.content()),
                        "response " + next);
                next++;
                if (next < sizes.size()) {
                    send(ctx);
                } else {
                    done.complete(next);
                }
            } catch (Throwable e) {
                done.completeExceptionally(e);
                throw e;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            done.completeExceptionally(cause);
            ctx.close();
        }
    }
}
