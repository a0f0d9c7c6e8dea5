/*
 * agent-pdp benchmark load generator: a single-file program for the JDK source launcher
 * (java bench/LoadGen.java ...), JDK only (java.net.http or plain sockets, virtual threads).
 *
 * Two modes:
 *   closed  N virtual threads send back to back (closed loop) -> peak throughput.
 *   rate    open model, wrk2 style: a fixed number of connections, each with its own schedule of
 *           intended send times (together the target rate). Latency is measured from the INTENDED send
 *           time, so a stalled server cannot hide its backlog (coordinated omission corrected).
 *
 * Prints one JSON object on stdout:
 *   {"name":..,"mode":..,"target_rps":..,"throughput_rps":..,"requests":..,"errors":..,
 *    "latency_ms":{"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"mean":..}, ...}
 *
 * Options:
 *   --name NAME            label in the output
 *   --url U[,U2,...]       target URL(s); requests are spread round robin over them
 *   --bodies FILE          JSON lines, one request body per line, used round robin (POST); absent: GET
 *   --header "K: V"        request header (repeatable)
 *   --bearer-per-line      each --bodies line is TOKEN<TAB>JSON: the body with its own Authorization: Bearer TOKEN
 *                          (one tenant's token per body, for loads spread over several tenants)
 *   --mode closed|rate
 *   --concurrency N        closed: in-flight requests; rate: connections/workers (default 32)
 *   --rate R               rate mode: target requests per second (all workers together)
 *   --warmup S             seconds before measuring (default 10)
 *   --duration S           seconds measured (default 15)
 *   --expect CODE          expected HTTP status (default 200); others count as errors
 *   --contains TEXT        response body must contain TEXT; otherwise counted as an error
 *   --timeout S            per-request timeout (default 10)
 *   --by-outcome           also report latency per decision kind of the answer ("latency_by_outcome": DENY,
 *                          ALLOW_mint, ALLOW_reuse, other), to see which part of a mixed load makes the tail
 *   --client jdk|socket    jdk (default): java.net.http. socket: a blocking HTTP/1.1 client on plain sockets, one
 *                          keep-alive connection per worker and URL (http only). On two shared cores java.net.http
 *                          (selector thread, futures, hand-offs) took about 0.9 ms of CPU per request, more than
 *                          the PDP: the socket client leaves those cores to what is measured.
 */
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

public class LoadGen {

    /** Growable primitive array of latencies in nanoseconds, one per worker (no sharing). */
    static final class Samples {
        long[] values = new long[4096];
        int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }
    }

    static String name = "run";
    static List<URI> urls = new ArrayList<>();
    static List<byte[]> bodies = new ArrayList<>();
    static List<String[]> headers = new ArrayList<>();
    static boolean bearerPerLine = false;
    static String mode = "closed";
    static int concurrency = 32;
    static double rate = 0;
    static double warmupSeconds = 10;
    static double durationSeconds = 15;
    static int expect = 200;
    static String contains;
    static Duration timeout = Duration.ofSeconds(10);
    static boolean byOutcome = false;
    static String clientKind = "jdk";
    /** Kinds of answer for --by-outcome, by what the PDP's answer body says. */
    static final String[] KINDS = {"DENY", "ALLOW_mint", "ALLOW_reuse", "other"};
    static final byte[] DENY_MARK = "\"outcome\":\"DENY\"".getBytes(StandardCharsets.US_ASCII);
    static final byte[] ALLOW_MARK = "\"outcome\":\"ALLOW\"".getBytes(StandardCharsets.US_ASCII);
    static final byte[] REUSE_MARK = "\"type\":\"reuse\"".getBytes(StandardCharsets.US_ASCII);

    static final AtomicLong errors = new AtomicLong();
    static final AtomicLong okTotal = new AtomicLong();
    static final AtomicLong unexpected = new AtomicLong();
    static final AtomicReference<String> firstError = new AtomicReference<>();

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--name" -> { name = v; i++; }
                case "--url" -> { for (String u : v.split(",")) urls.add(URI.create(u.trim())); i++; }
                case "--bodies" -> {
                    for (String line : Files.readAllLines(Path.of(v))) {
                        if (!line.isBlank()) bodies.add(line.getBytes(StandardCharsets.UTF_8));
                    }
                    i++;
                }
                case "--header" -> {
                    int c = v.indexOf(':');
                    headers.add(new String[] {v.substring(0, c).trim(), v.substring(c + 1).trim()});
                    i++;
                }
                case "--bearer-per-line" -> bearerPerLine = true;
                case "--mode" -> { mode = v; i++; }
                case "--concurrency" -> { concurrency = Integer.parseInt(v); i++; }
                case "--rate" -> { rate = Double.parseDouble(v); i++; }
                case "--warmup" -> { warmupSeconds = Double.parseDouble(v); i++; }
                case "--duration" -> { durationSeconds = Double.parseDouble(v); i++; }
                case "--expect" -> { expect = Integer.parseInt(v); i++; }
                case "--contains" -> { contains = v; i++; }
                case "--timeout" -> { timeout = Duration.ofMillis((long) (Double.parseDouble(v) * 1000)); i++; }
                case "--by-outcome" -> byOutcome = true;
                case "--client" -> { clientKind = v; i++; }
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (urls.isEmpty()) throw new IllegalArgumentException("--url is required");
        if (!mode.equals("closed") && !mode.equals("rate")) throw new IllegalArgumentException("--mode closed|rate");
        if (mode.equals("rate") && rate <= 0) throw new IllegalArgumentException("--rate must be > 0 in rate mode");
        if (!clientKind.equals("jdk") && !clientKind.equals("socket")) throw new IllegalArgumentException("--client jdk|socket");

        long cpuAtStart = cpuNanos();
        // Each body line's own header (--bearer-per-line) and payload, for either client.
        int nb = Math.max(1, bodies.size());
        List<String[]> ownHeader = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        for (byte[] line : bodies) {
            if (bearerPerLine) {
                String text = new String(line, StandardCharsets.UTF_8);
                int tab = text.indexOf('\t');
                if (tab < 0) throw new IllegalArgumentException("--bearer-per-line: a line without TOKEN<TAB>");
                ownHeader.add(new String[] {"Authorization", "Bearer " + text.substring(0, tab)});
                payloads.add(text.substring(tab + 1).getBytes(StandardCharsets.UTF_8));
            } else {
                ownHeader.add(null);
                payloads.add(line);
            }
        }
        Sender sender = clientKind.equals("socket") ? socketSender(rawRequests(nb, ownHeader, payloads))
                : jdkSender(nb, ownHeader, payloads);

        long t0 = System.nanoTime() + 200_000_000L; // all workers start together
        long measureStart = t0 + (long) (warmupSeconds * 1e9);
        long measureEnd = measureStart + (long) (durationSeconds * 1e9);
        long hardStop = measureEnd + timeout.toNanos() + 5_000_000_000L;

        Samples[] samples = new Samples[concurrency];
        Samples[][] kindSamples = new Samples[concurrency][KINDS.length];
        long[] completedInWindow = new long[concurrency];
        long[] scheduledInWindow = new long[concurrency];
        long[] maxBehind = new long[concurrency];
        CountDownLatch done = new CountDownLatch(concurrency);
        for (int w = 0; w < concurrency; w++) {
            final int worker = w;
            samples[w] = new Samples();
            for (int k = 0; k < KINDS.length; k++) kindSamples[w][k] = new Samples();
            Thread.ofVirtual().name("w" + w).start(() -> {
                try {
                    if (mode.equals("closed")) {
                        closedLoop(sender, urls.size(), nb, worker, t0, measureStart, measureEnd, samples[worker],
                                kindSamples[worker], completedInWindow);
                    } else {
                        rateLoop(sender, urls.size(), nb, worker, t0, measureStart, measureEnd, hardStop, samples[worker],
                                kindSamples[worker], completedInWindow, scheduledInWindow, maxBehind);
                    }
                } catch (Throwable t) {
                    recordError("worker: " + t);
                } finally {
                    done.countDown();
                }
            });
        }
        done.await();

        int total = 0;
        for (Samples s : samples) total += s.size;
        long[] all = new long[total];
        int pos = 0;
        for (Samples s : samples) {
            System.arraycopy(s.values, 0, all, pos, s.size);
            pos += s.size;
        }
        Arrays.sort(all);
        long completed = 0, scheduled = 0, behind = 0;
        for (int w = 0; w < concurrency; w++) {
            completed += completedInWindow[w];
            scheduled += scheduledInWindow[w];
            behind = Math.max(behind, maxBehind[w]);
        }
        double sum = 0;
        for (long v : all) sum += v;

        StringBuilder out = new StringBuilder();
        out.append('{');
        field(out, "name", name).append(',');
        field(out, "mode", mode).append(',');
        field(out, "client", clientKind).append(',');
        out.append("\"urls\":").append(urls.size()).append(',');
        out.append("\"concurrency\":").append(concurrency).append(',');
        out.append("\"target_rps\":").append(mode.equals("rate") ? num(rate) : "null").append(',');
        out.append("\"warmup_s\":").append(num(warmupSeconds)).append(',');
        out.append("\"duration_s\":").append(num(durationSeconds)).append(',');
        out.append("\"requests\":").append(all.length).append(',');
        if (mode.equals("rate")) {
            out.append("\"scheduled\":").append(scheduled).append(',');
            out.append("\"max_behind_ms\":").append(num(behind / 1e6)).append(',');
        }
        out.append("\"errors\":").append(errors.get()).append(',');
        // every successful request of the run (warm-up included), to relate the processes' CPU time to requests
        out.append("\"requests_total\":").append(okTotal.get()).append(',');
        out.append("\"client_cpu_ms_run\":").append(num((cpuNanos() - cpuAtStart) / 1e6)).append(',');
        out.append("\"client_cpu_ms_total\":").append(num(cpuNanos() / 1e6)).append(',');
        out.append("\"throughput_rps\":").append(num(completed / durationSeconds)).append(',');
        out.append("\"latency_ms\":{");
        out.append("\"p50\":").append(num(pct(all, 50.0) / 1e6)).append(',');
        out.append("\"p90\":").append(num(pct(all, 90.0) / 1e6)).append(',');
        out.append("\"p99\":").append(num(pct(all, 99.0) / 1e6)).append(',');
        out.append("\"p999\":").append(num(pct(all, 99.9) / 1e6)).append(',');
        out.append("\"max\":").append(num(all.length == 0 ? 0 : all[all.length - 1] / 1e6)).append(',');
        out.append("\"mean\":").append(num(all.length == 0 ? 0 : sum / all.length / 1e6)).append('}');
        if (byOutcome) {
            out.append(",\"latency_by_outcome\":{");
            boolean first = true;
            for (int k = 0; k < KINDS.length; k++) {
                int n = 0;
                for (Samples[] ws : kindSamples) n += ws[k].size;
                if (n == 0) continue;
                long[] ks = new long[n];
                int at = 0;
                for (Samples[] ws : kindSamples) {
                    System.arraycopy(ws[k].values, 0, ks, at, ws[k].size);
                    at += ws[k].size;
                }
                Arrays.sort(ks);
                if (!first) out.append(',');
                first = false;
                out.append('"').append(KINDS[k]).append("\":{\"requests\":").append(n)
                   .append(",\"p50\":").append(num(pct(ks, 50.0) / 1e6))
                   .append(",\"p99\":").append(num(pct(ks, 99.0) / 1e6))
                   .append(",\"p999\":").append(num(pct(ks, 99.9) / 1e6))
                   .append(",\"max\":").append(num(ks[n - 1] / 1e6)).append('}');
            }
            out.append('}');
        }
        out.append(",\"latency_from\":\"").append(mode.equals("rate") ? "intended_send_time" : "actual_send_time").append('"');
        if (firstError.get() != null) {
            out.append(',');
            field(out, "first_error", firstError.get());
        }
        out.append('}');
        System.out.println(out);
        System.exit(0);
    }

    /** Closed loop: send, wait for the answer, send again. Latency from the actual send. */
    static void closedLoop(Sender sender, int nu, int nb, int worker, long t0, long measureStart,
                           long measureEnd, Samples samples, Samples[] kinds, long[] completedInWindow)
            throws InterruptedException {
        parkUntil(t0);
        long k = worker;
        while (true) {
            long start = System.nanoTime();
            if (start >= measureEnd) return;
            int u = (int) (k % nu), b = (int) (k % nb);
            k += concurrency;
            int kind = sender.send(worker, u, b);
            long end = System.nanoTime();
            if (start >= measureStart && end <= measureEnd) {
                if (kind >= 0) {
                    samples.add(end - start);
                    if (byOutcome) kinds[kind].add(end - start);
                    completedInWindow[worker]++;
                }
            }
        }
    }

    /**
     * Open model (wrk2): worker w owns the intended send times t0 + (w + k*N)/rate. It sends as soon as
     * the intended time has come (immediately when behind) and the latency counts from that intended time.
     */
    static void rateLoop(Sender sender, int nu, int nb, int worker, long t0, long measureStart,
                         long measureEnd, long hardStop, Samples samples, Samples[] kinds, long[] completedInWindow,
                         long[] scheduledInWindow, long[] maxBehind) throws InterruptedException {
        double intervalNanos = 1e9 / rate;
        for (long k = worker; ; k += concurrency) {
            long intended = t0 + (long) (k * intervalNanos);
            if (intended >= measureEnd) return;
            if (System.nanoTime() > hardStop) return; // bounded even when the server hangs
            parkUntil(intended);
            long now = System.nanoTime();
            boolean inWindow = intended >= measureStart;
            if (inWindow) {
                scheduledInWindow[worker]++;
                maxBehind[worker] = Math.max(maxBehind[worker], now - intended);
            }
            int kind = sender.send(worker, (int) (k % nu), (int) (k % nb));
            long end = System.nanoTime();
            if (inWindow && kind >= 0) {
                samples.add(end - intended);
                if (byOutcome) kinds[kind].add(end - intended);
                if (end <= measureEnd + timeout.toNanos()) completedInWindow[worker]++;
            }
        }
    }

    /** Sends request {@code b} to URL {@code u} for {@code worker}: the answer's kind, or -1 for an error. */
    interface Sender {
        int send(int worker, int u, int b);
    }

    /** The answer's kind (index into KINDS; 0 unless --by-outcome), or -1 when it is not the one expected. */
    static int judge(int status, byte[] body) {
        if (status != expect) {
            recordError("HTTP " + status + ": " + snippet(body));
            return -1;
        }
        if (contains != null && !new String(body, StandardCharsets.ISO_8859_1).contains(contains)) {
            unexpected.incrementAndGet();
            recordError("body without '" + contains + "': " + snippet(body));
            return -1;
        }
        okTotal.incrementAndGet();
        return byOutcome ? kind(body) : 0;
    }

    /** Sends one request with java.net.http. */
    static int send(HttpClient client, HttpRequest request) {
        try {
            HttpResponse<byte[]> response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
            return judge(response.statusCode(), response.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            recordError("interrupted");
            return -1;
        } catch (Exception e) {
            recordError(e.getClass().getSimpleName() + ": " + e.getMessage());
            return -1;
        }
    }

    /** Sends one request on a worker's own connection (--client socket). */
    static int exchange(SocketConnection connection, byte[] request) {
        try {
            return connection.exchange(request);
        } catch (IOException | RuntimeException e) {
            recordError(e.getClass().getSimpleName() + ": " + e.getMessage());
            return -1;
        }
    }

    /** java.net.http, one prepared request per (url, body) pair: HttpRequest is immutable and reusable. */
    static Sender jdkSender(int nb, List<String[]> ownHeader, List<byte[]> payloads) {
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        HttpRequest[][] requests = new HttpRequest[urls.size()][nb];
        for (int u = 0; u < urls.size(); u++) {
            for (int b = 0; b < nb; b++) {
                HttpRequest.Builder rb = HttpRequest.newBuilder(urls.get(u)).timeout(timeout);
                for (String[] h : headers) rb.header(h[0], h[1]);
                if (payloads.isEmpty()) {
                    rb.GET();
                } else {
                    if (ownHeader.get(b) != null) rb.header(ownHeader.get(b)[0], ownHeader.get(b)[1]);
                    rb.header("Content-Type", "application/json")
                      .POST(HttpRequest.BodyPublishers.ofByteArray(payloads.get(b)));
                }
                requests[u][b] = rb.build();
            }
        }
        return (worker, u, b) -> send(client, requests[u][b]);
    }

    /** Plain sockets: each worker its own connection per URL, opened on first use. */
    static Sender socketSender(byte[][][] raw) {
        SocketConnection[][] connections = new SocketConnection[concurrency][urls.size()];
        return (worker, u, b) -> {
            SocketConnection c = connections[worker][u];
            if (c == null) {
                c = new SocketConnection(urls.get(u), (int) timeout.toMillis());
                connections[worker][u] = c;
            }
            return exchange(c, raw[u][b]);
        };
    }

    /**
     * The requests as bytes on the wire for --client socket, per URL and body: what java.net.http sends, less its
     * User-Agent (POST with Content-Length, or GET).
     */
    static byte[][][] rawRequests(int nb, List<String[]> ownHeader, List<byte[]> payloads) {
        byte[][][] raw = new byte[urls.size()][nb][];
        for (int u = 0; u < urls.size(); u++) {
            URI uri = urls.get(u);
            if (!"http".equals(uri.getScheme())) throw new IllegalArgumentException("--client socket: http URLs only");
            String target = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                    + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
            for (int b = 0; b < nb; b++) {
                StringBuilder head = new StringBuilder();
                head.append(payloads.isEmpty() ? "GET " : "POST ").append(target).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(uri.getHost()).append(':').append(uri.getPort()).append("\r\n");
                for (String[] h : headers) head.append(h[0]).append(": ").append(h[1]).append("\r\n");
                byte[] body = payloads.isEmpty() ? new byte[0] : payloads.get(b);
                if (!payloads.isEmpty()) {
                    if (ownHeader.get(b) != null) head.append(ownHeader.get(b)[0]).append(": ").append(ownHeader.get(b)[1]).append("\r\n");
                    head.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
                }
                byte[] h = head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
                byte[] all = Arrays.copyOf(h, h.length + body.length);
                System.arraycopy(body, 0, all, h.length, body.length);
                raw[u][b] = all;
            }
        }
        return raw;
    }

    /**
     * One keep-alive HTTP/1.1 connection, used by one worker at a time: write the request, read the answer by its
     * Content-Length or its chunks. Reconnects after the server closes (Connection: close, e.g. Tomcat's
     * max-keep-alive-requests) or any error; a request is never sent twice.
     */
    static final class SocketConnection {
        private final String host;
        private final int port;
        private final int timeoutMillis;
        private Socket socket;
        private InputStream in;
        private OutputStream out;
        private final byte[] buffer = new byte[1 << 16];
        private int pos;
        private int limit;

        SocketConnection(URI uri, int timeoutMillis) {
            this.host = uri.getHost();
            this.port = uri.getPort();
            this.timeoutMillis = timeoutMillis;
        }

        int exchange(byte[] request) throws IOException {
            if (socket == null) {
                socket = new Socket();
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(host, port), timeoutMillis);
                socket.setSoTimeout(timeoutMillis);
                in = socket.getInputStream();
                out = socket.getOutputStream();
                pos = limit = 0;
            }
            try {
                out.write(request);
                String status = line();
                if (!status.startsWith("HTTP/1.")) throw new IOException("not an HTTP answer: " + status);
                int code = Integer.parseInt(status.substring(9, 12));
                long length = -1;
                boolean chunked = false;
                boolean close = status.startsWith("HTTP/1.0"); // unless it says keep-alive
                for (String h; !(h = line()).isEmpty(); ) {
                    int colon = h.indexOf(':');
                    if (colon < 0) continue;
                    String name = h.substring(0, colon).trim();
                    String value = h.substring(colon + 1).trim();
                    if (name.equalsIgnoreCase("Content-Length")) length = Long.parseLong(value);
                    else if (name.equalsIgnoreCase("Transfer-Encoding")) chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                    else if (name.equalsIgnoreCase("Connection")) close = !value.equalsIgnoreCase("keep-alive");
                }
                byte[] body;
                if (chunked) {
                    java.io.ByteArrayOutputStream chunks = new java.io.ByteArrayOutputStream();
                    for (int size; (size = Integer.parseInt(line().split(";", 2)[0].trim(), 16)) > 0; ) {
                        chunks.write(bytes(size));
                        line();
                    }
                    while (!line().isEmpty()) {
                        // trailers
                    }
                    body = chunks.toByteArray();
                } else if (length >= 0) {
                    body = bytes((int) length);
                } else {
                    throw new IOException("an answer without Content-Length or chunks");
                }
                if (close) close();
                return judge(code, body);
            } catch (IOException | RuntimeException e) {
                close();
                throw e;
            }
        }

        private void close() {
            try {
                if (socket != null) socket.close();
            } catch (IOException ignored) {
                // closing a broken connection
            }
            socket = null;
        }

        private boolean fill() throws IOException {
            if (pos == limit) {
                pos = 0;
                limit = in.read(buffer);
                if (limit <= 0) {
                    limit = 0;
                    return false;
                }
            }
            return true;
        }

        private String line() throws IOException {
            StringBuilder line = new StringBuilder(64);
            while (true) {
                if (!fill()) throw new IOException("connection closed mid-answer");
                byte c = buffer[pos++];
                if (c == '\n') {
                    int n = line.length();
                    return n > 0 && line.charAt(n - 1) == '\r' ? line.substring(0, n - 1) : line.toString();
                }
                line.append((char) (c & 0xff));
            }
        }

        private byte[] bytes(int n) throws IOException {
            byte[] out = new byte[n];
            for (int at = 0; at < n; ) {
                if (!fill()) throw new IOException("connection closed mid-answer");
                int take = Math.min(n - at, limit - pos);
                System.arraycopy(buffer, pos, out, at, take);
                pos += take;
                at += take;
            }
            return out;
        }
    }

    /** DENY, ALLOW with a new credential, ALLOW reusing a held one, or anything else (STEP_UP, CONSTRAIN). */
    static int kind(byte[] body) {
        if (indexOf(body, DENY_MARK) >= 0) return 0;
        if (indexOf(body, ALLOW_MARK) >= 0) return indexOf(body, REUSE_MARK) >= 0 ? 2 : 1;
        return 3;
    }

    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) continue outer;
            }
            return i;
        }
        return -1;
    }

    static void recordError(String message) {
        errors.incrementAndGet();
        firstError.compareAndSet(null, message);
    }

    static String snippet(byte[] body) {
        String s = new String(body, StandardCharsets.UTF_8);
        return s.length() > 300 ? s.substring(0, 300) : s;
    }

    static void parkUntil(long deadline) throws InterruptedException {
        long wait;
        while ((wait = deadline - System.nanoTime()) > 0) {
            if (wait > 2_000_000L) {
                Thread.sleep(Duration.ofNanos(wait - 1_000_000L));
            } else {
                LockSupport.parkNanos(wait);
            }
        }
    }

    /** CPU time of this whole process (source-launcher compilation included). */
    static long cpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    /** Nearest-rank percentile of sorted values. */
    static double pct(long[] sorted, double p) {
        if (sorted.length == 0) return 0;
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
    }

    static String num(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    static StringBuilder field(StringBuilder out, String key, String value) {
        out.append('"').append(key).append("\":\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        return out.append('"');
    }
}
