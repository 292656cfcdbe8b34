package kernelfarm.coordinator.llm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * An OpenAI-compatible chat-completions endpoint on loopback that answers like a reasoning model under load: each
 * answer comes after a latency drawn from a log-normal distribution (a median and a long right tail), with a
 * distinct code block, so no two rounds share a verdict. The control-plane benchmark talks to it.
 *
 * <p>No thread waits for a latency: the handler returns at once and a timer thread writes the answer when it is
 * due, so a few threads hold thousands of calls open, as a real inference server does.
 */
public final class LatencyLlmServer implements AutoCloseable {
  // The JDK server closes connections beyond this many idle ones (default 200); a thousand branches each pause
  // between calls, and a closed connection would show up as a client retry.
  private static final String MAX_IDLE = "sun.net.httpserver.maxIdleConnections";

  private final HttpServer server;
  private final ExecutorService handlers;
  private final ScheduledExecutorService timers;
  private final ObjectMapper json;
  private final Duration median;
  private final double sigma;
  private final Random random;
  private final AtomicLong calls = new AtomicLong();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger peakOpen = new AtomicInteger();
  private final DoubleAdder drawnSeconds = new DoubleAdder();

  private LatencyLlmServer(HttpServer server, ExecutorService handlers, ScheduledExecutorService timers,
      ObjectMapper json, Duration median, double sigma, long seed) {
    this.server = server;
    this.handlers = handlers;
    this.timers = timers;
    this.json = json;
    this.median = median;
    this.sigma = sigma;
    this.random = new Random(seed);
  }

  /**
   * Starts on a free loopback port.
   *
   * @param median half of the answers come sooner; ZERO answers at once
   * @param sigma the log-normal's shape: 0 answers every call after exactly {@code median}; 0.5 puts one answer in
   *     twenty past 2.3 times the median, as long reasoning answers do
   */
  public static LatencyLlmServer start(ObjectMapper json, Duration median, double sigma, long seed) {
    if (median.isNegative() || !(sigma >= 0)) {
      throw new IllegalArgumentException("median must be >= 0 and sigma >= 0, got " + median + " and " + sigma);
    }
    if (System.getProperty(MAX_IDLE) == null) {
      System.setProperty(MAX_IDLE, "100000");
    }
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4096);
      // Handlers only read a request and schedule its answer, unless answers are instant (then they write too).
      ExecutorService handlers = Executors.newFixedThreadPool(4, daemon("latency-llm"));
      ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(daemon("latency-llm-timer"));
      LatencyLlmServer fake = new LatencyLlmServer(server, handlers, timers, json, median, sigma, seed);
      server.createContext("/v1/chat/completions", fake::handle);
      server.setExecutor(handlers);
      server.start();
      return fake;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /** {@code http://127.0.0.1:<port>/v1}. */
  public URI baseUrl() {
    return URI.create("http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort() + "/v1");
  }

  /** Calls received. */
  public long calls() {
    return calls.get();
  }

  /** The most calls open at once: received, not yet answered. */
  public int peakOpen() {
    return peakOpen.get();
  }

  /** Calls open now. */
  public int open() {
    return open.get();
  }

  /** The mean of the latencies drawn so far, in seconds; 0 before the first call. */
  public double meanLatencySeconds() {
    long n = calls.get();
    return n == 0 ? 0 : drawnSeconds.sum() / n;
  }

  /** A latency from this server's distribution, in seconds. */
  public double draw() {
    double gaussian;
    synchronized (random) {
      gaussian = random.nextGaussian();
    }
    return median.toNanos() / 1e9 * Math.exp(sigma * gaussian);
  }

  @Override
  public void close() {
    server.stop(0);
    timers.shutdownNow();
    handlers.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    exchange.getRequestBody().readAllBytes();
    long n = calls.incrementAndGet();
    peakOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
    double seconds = draw();
    drawnSeconds.add(seconds);
    if (seconds == 0) {
      // An instant answer goes out on the handler thread: the one timer thread would serialise every answer.
      answer(exchange, n);
    } else {
      timers.schedule(() -> answer(exchange, n), (long) (seconds * 1e9), TimeUnit.NANOSECONDS);
    }
  }

  private void answer(HttpExchange exchange, long n) {
    try (exchange) {
      ObjectNode body = json.createObjectNode();
      ObjectNode choice = body.putArray("choices").addObject();
      choice.put("index", 0).put("finish_reason", "stop");
      choice.putObject("message").put("role", "assistant").put("content", "```python\nimport torch\n# " + n
          + "\nclass ModelNew(torch.nn.Module):\n    def forward(self, x):\n        return x\n```\n");
      body.putObject("usage").put("prompt_tokens", 100).put("completion_tokens", 20);
      byte[] bytes = json.writeValueAsBytes(body);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      open.decrementAndGet();
      exchange.sendResponseHeaders(200, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    } catch (IOException e) {
      // The client gave up on this call; its own timeout reports it.
    }
  }
}
