package io.agentpdp.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A real TCP proxy on loopback placed between the PDP and a real dependency, to inject faults:
 * {@link Mode#PASS} forwards, {@link Mode#DOWN} refuses and cuts every connection (the dependency is
 * unreachable), {@link Mode#SLOW} delays the first answer bytes, {@link Mode#GARBAGE} answers every
 * request with a well-formed HTTP response whose body is not JSON, {@link Mode#ERROR} answers HTTP 500.
 */
public final class FaultProxy implements AutoCloseable {

    public enum Mode { PASS, DOWN, SLOW, GARBAGE, ERROR }

    private final String targetHost;
    private final int targetPort;
    private final ServerSocket server;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile Mode mode = Mode.PASS;
    private volatile Duration delay = Duration.ofSeconds(2);

    public FaultProxy(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("fault-proxy-" + server.getLocalPort()).start(this::acceptLoop);
    }

    public int port() {
        return server.getLocalPort();
    }

    public String url() {
        return "http://127.0.0.1:" + port();
    }

    public void mode(Mode mode) {
        if (this.mode == mode) {
            return;
        }
        this.mode = mode;
        // A changed dependency drops the connections it had, as a restarted process does.
        cutAll();
    }

    public void delay(Duration delay) {
        this.delay = delay;
    }

    /** Closes every open connection, as a crashed dependency would. */
    public void cutAll() {
        for (Socket socket : open) {
            closeQuietly(socket);
        }
        open.clear();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread.ofVirtual().start(() -> handle(client));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void handle(Socket client) {
        Mode current = mode;
        if (current == Mode.DOWN) {
            closeQuietly(client);
            return;
        }
        open.add(client);
        if (current == Mode.GARBAGE || current == Mode.ERROR) {
            answer(client, current);
            return;
        }
        try (Socket upstream = new Socket()) {
            upstream.connect(new InetSocketAddress(targetHost, targetPort), 2000);
            open.add(upstream);
            Thread pump = Thread.ofVirtual().start(() -> pump(client, upstream, Duration.ZERO));
            pump(upstream, client, current == Mode.SLOW ? delay : Duration.ZERO);
            pump.join();
        } catch (IOException | InterruptedException e) {
            // connection ended
        } finally {
            closeQuietly(client);
            open.remove(client);
        }
    }

    private void answer(Socket client, Mode current) {
        try (client) {
            InputStream in = client.getInputStream();
            byte[] buffer = new byte[8192];
            OutputStream out = client.getOutputStream();
            // One answer per request head seen; keep-alive clients may send several.
            while (in.read(buffer) > 0 && mode == current) {
                byte[] body = current == Mode.GARBAGE
                        ? "\u0000\u00ffnot json{{{".getBytes(StandardCharsets.ISO_8859_1)
                        : "{\"code\":\"internal_error\"}".getBytes(StandardCharsets.US_ASCII);
                String status = current == Mode.GARBAGE ? "200 OK" : "500 Internal Server Error";
                out.write(("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
            }
        } catch (IOException e) {
            // client went away
        } finally {
            open.remove(client);
        }
    }

    private static void pump(Socket from, Socket to, Duration firstByteDelay) {
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            byte[] buffer = new byte[16384];
            boolean first = true;
            int n;
            while ((n = in.read(buffer)) > 0) {
                if (first && !firstByteDelay.isZero()) {
                    Thread.sleep(firstByteDelay);
                }
                first = false;
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // one side closed
        } finally {
            closeQuietly(to);
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        cutAll();
    }
}
