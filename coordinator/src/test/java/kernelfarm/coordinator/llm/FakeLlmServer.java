package kernelfarm.coordinator.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one fake in our tests: an OpenAI-compatible chat-completions server on a free loopback port, answering from
 * a script and recording every request, so a test can assert what we sent. An {@link Answer} comes back as one
 * JSON body, or as Server-Sent Events in small chunks when the request asked for {@code stream}, as a real server
 * does. When the script runs out, {@link #otherwise(Reply)} answers (by default a 400 that says so).
 *
 * <p>It counts the requests it is serving at once ({@link #maxConcurrent()}). A request stops counting just before
 * the server sends what lets the client finish, so a client that starts its next request the moment one ends is
 * never counted twice.
 */
public final class FakeLlmServer implements AutoCloseable {
  /** What the server does with one request. */
  public sealed interface Reply permits Answer, Failure, Raw, Delayed, PausedStream {}

  /**
   * A chat completion. {@code reasoningContent} goes in the {@code reasoning_content} field when non-empty;
   * {@code <think>} blocks, if wanted, are written into {@code content}.
   */
  public record Answer(
      String content, String reasoningContent, int promptTokens, int completionTokens, int reasoningTokens,
      String finishReason) implements Reply {
    public Answer withReasoning(String reasoning) {
      return new Answer(content, reasoning, promptTokens, completionTokens, reasoningTokens, finishReason);
    }

    public Answer withUsage(int prompt, int completion, int reasoning) {
      return new Answer(content, reasoningContent, prompt, completion, reasoning, finishReason);
    }

    public Answer withFinishReason(String reason) {
      return new Answer(content, reasoningContent, promptTokens, completionTokens, reasoningTokens, reason);
    }
  }

  /** An OpenAI-style error body with this status and headers. */
  public record Failure(int status, String message, Map<String, String> headers) implements Reply {}

  /** Exactly this body: for malformed answers. */
  public record Raw(int status, String contentType, String body) implements Reply {}

  /** Waits, then replies: longer than the client's timeout, or long enough to overlap other requests. */
  public record Delayed(Duration delay, Reply then) implements Reply {}

  /** Streams {@code answer}, but stops after the first chunk for {@code pause}: a server that stalls mid-answer. */
  public record PausedStream(Duration pause, Answer answer) implements Reply {}

  /** One request as it arrived; {@code body} is null when it was not JSON. */
  public record Recorded(String method, String path, Map<String, List<String>> headers, JsonNode body, String raw,
      long arrivedNanos) {
    /** The header's first value, by case-insensitive name; null when absent. */
    public String header(String name) {
      List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
      return values == null || values.isEmpty() ? null : values.get(0);
    }
  }

  private static final int CHUNK_CHARS = 7;

  private final HttpServer server;
  private final ExecutorService threads;
  private final ObjectMapper json;
  private final Deque<Reply> script = new ArrayDeque<>();
  private final List<Recorded> requests = new ArrayList<>();
  private final AtomicInteger concurrent = new AtomicInteger();
  private final AtomicInteger maxConcurrent = new AtomicInteger();
  private Reply otherwise = new Failure(400, "FakeLlmServer: no scripted reply left", Map.of());
  private java.util.function.Function<JsonNode, Reply> responder;

  private FakeLlmServer(HttpServer server, ExecutorService threads, ObjectMapper json) {
    this.server = server;
    this.threads = threads;
    this.json = json;
  }

  /** Starts on a free loopback port. */
  public static FakeLlmServer start(ObjectMapper json) {
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      // One thread per request: the server must hold several at once to show a client's concurrency limit.
      ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-llm");
        t.setDaemon(true);
        return t;
      });
      FakeLlmServer fake = new FakeLlmServer(server, threads, json);
      server.createContext("/", fake::handle);
      server.setExecutor(threads);
      server.start();
      return fake;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code http://127.0.0.1:<port>/v1}, as an {@link LlmEndpoint#baseUrl()}. */
  public URI baseUrl() {
    return URI.create("http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort() + "/v1");
  }

  /** Appends replies; each request takes the next one. */
  public synchronized FakeLlmServer script(Reply... replies) {
    script.addAll(List.of(replies));
    return this;
  }

  /**
   * Answers from the request itself once the script is spent (before {@link #otherwise}): for concurrent callers,
   * such as the branches of a campaign, whose order a script cannot know.
   */
  public synchronized FakeLlmServer responder(java.util.function.Function<JsonNode, Reply> responder) {
    this.responder = responder;
    return this;
  }

  /** The reply once the script is spent. */
  public synchronized FakeLlmServer otherwise(Reply reply) {
    otherwise = reply;
    return this;
  }

  public synchronized List<Recorded> requests() {
    return List.copyOf(requests);
  }

  /** The most requests served at once so far. */
  public int maxConcurrent() {
    return maxConcurrent.get();
  }

  public static Answer answer(String content) {
    return new Answer(content, "", 12, 34, 0, "stop");
  }

  public static Failure status(int status, String message) {
    return new Failure(status, message, Map.of());
  }

  public static Failure tooManyRequests(int retryAfterSeconds) {
    return new Failure(429, "rate limit reached, slow down", Map.of("Retry-After", String.valueOf(retryAfterSeconds)));
  }

  public static Raw malformed(String body) {
    return new Raw(200, "application/json", body);
  }

  public static Delayed after(Duration delay, Reply then) {
    return new Delayed(delay, then);
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String raw = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      JsonNode body = parse(raw);
      Reply reply;
      synchronized (this) {
        Map<String, List<String>> headers = new TreeMap<>();
        exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
        requests.add(new Recorded(exchange.getRequestMethod(), exchange.getRequestURI().getPath(), headers, body,
            raw, System.nanoTime()));
        boolean chat = exchange.getRequestMethod().equals("POST")
            && exchange.getRequestURI().getPath().equals("/v1/chat/completions");
        reply = !chat ? status(404, "FakeLlmServer serves POST /v1/chat/completions only")
            : !script.isEmpty() ? script.poll() : responder != null ? responder.apply(body) : otherwise;
      }
      int now = concurrent.incrementAndGet();
      maxConcurrent.accumulateAndGet(now, Math::max);
      Runnable leave = new Runnable() {
        private boolean left;

        @Override
        public void run() {
          if (!left) {
            left = true;
            concurrent.decrementAndGet();
          }
        }
      };
      try {
        reply(exchange, reply, body != null && body.path("stream").asBoolean(false), leave);
      } finally {
        leave.run();
      }
    } catch (InterruptedException e) {
      // The server is closing while a reply waits.
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      // The client gave up (its timeout) and closed the connection: expected in timeout tests.
    }
  }

  private void reply(HttpExchange exchange, Reply reply, boolean stream, Runnable leave)
      throws IOException, InterruptedException {
    if (reply instanceof Delayed d) {
      Thread.sleep(d.delay().toMillis());
      reply(exchange, d.then(), stream, leave);
    } else if (reply instanceof Failure f) {
      ObjectNode error = json.createObjectNode();
      error.putObject("error").put("message", f.message()).put("type", "fake_error").put("code", f.status());
      f.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
      send(exchange, f.status(), "application/json", json.writeValueAsString(error), leave);
    } else if (reply instanceof Raw r) {
      send(exchange, r.status(), r.contentType(), r.body(), leave);
    } else if (reply instanceof PausedStream p) {
      stream(exchange, p.answer(), p.pause(), leave);
    } else if (reply instanceof Answer a && stream) {
      stream(exchange, a, Duration.ZERO, leave);
    } else {
      send(exchange, 200, "application/json", json.writeValueAsString(completion((Answer) reply)), leave);
    }
  }

  private void send(HttpExchange exchange, int status, String contentType, String body, Runnable leave)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    leave.run();
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  private ObjectNode completion(Answer a) {
    ObjectNode root = json.createObjectNode();
    root.put("id", "chatcmpl-fake").put("object", "chat.completion").put("model", "fake");
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0).put("finish_reason", a.finishReason());
    ObjectNode message = choice.putObject("message").put("role", "assistant").put("content", a.content());
    if (!a.reasoningContent().isEmpty()) {
      message.put("reasoning_content", a.reasoningContent());
    }
    usage(root, a);
    return root;
  }

  private void usage(ObjectNode root, Answer a) {
    ObjectNode usage = root.putObject("usage").put("prompt_tokens", a.promptTokens())
        .put("completion_tokens", a.completionTokens())
        .put("total_tokens", a.promptTokens() + a.completionTokens());
    if (a.reasoningTokens() > 0) {
      usage.putObject("completion_tokens_details").put("reasoning_tokens", a.reasoningTokens());
    }
  }

  /** As OpenAI streams: a role chunk, small deltas (reasoning first), a finish chunk, a usage chunk, [DONE]. */
  private void stream(HttpExchange exchange, Answer a, Duration pause, Runnable leave)
      throws IOException, InterruptedException {
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
    exchange.sendResponseHeaders(200, 0);
    OutputStream out = exchange.getResponseBody();
    out.write(": keep-alive comment, ignored by clients\n\n".getBytes(StandardCharsets.UTF_8));
    event(out, chunk().set("choices", json.createArrayNode().add(choice(delta().put("role", "assistant")))));
    Thread.sleep(pause.toMillis());
    for (String piece : pieces(a.reasoningContent())) {
      event(out, chunk().set("choices", json.createArrayNode().add(choice(delta().put("reasoning_content", piece)))));
    }
    for (String piece : pieces(a.content())) {
      event(out, chunk().set("choices", json.createArrayNode().add(choice(delta().put("content", piece)))));
    }
    event(out, chunk().set("choices",
        json.createArrayNode().add(choice(delta()).put("finish_reason", a.finishReason()))));
    ObjectNode last = chunk();
    last.putArray("choices");
    usage(last, a);
    event(out, last);
    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    out.flush();
    leave.run();
    out.close();
  }

  private ObjectNode chunk() {
    return json.createObjectNode().put("id", "chatcmpl-fake").put("object", "chat.completion.chunk")
        .put("model", "fake");
  }

  private ObjectNode delta() {
    return json.createObjectNode();
  }

  private ObjectNode choice(ObjectNode delta) {
    ObjectNode choice = json.createObjectNode().put("index", 0);
    choice.set("delta", delta);
    choice.putNull("finish_reason");
    return choice;
  }

  private void event(OutputStream out, JsonNode chunk) throws IOException {
    out.write(("data: " + json.writeValueAsString(chunk) + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static List<String> pieces(String text) {
    List<String> pieces = new ArrayList<>();
    for (int i = 0; i < text.length(); i += CHUNK_CHARS) {
      pieces.add(text.substring(i, Math.min(text.length(), i + CHUNK_CHARS)));
    }
    return pieces;
  }

  private JsonNode parse(String raw) {
    try {
      return raw.isBlank() ? null : json.readTree(raw);
    } catch (JsonProcessingException e) {
      return null;
    }
  }
}
