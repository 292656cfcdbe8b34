package kernelfarm.coordinator.llm;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * An OpenAI-compatible chat-completions endpoint on loopback that answers from recorded responses: what
 * {@code kfarm demo} talks to when no LLM endpoint is configured, so the whole loop (prompt, answer, verdict,
 * feedback) runs with no network and no key.
 *
 * <p>Recordings live in a folder per problem, named after the problem ({@code 1_GELU_tanh/}), holding
 * {@code round-1.md}, {@code round-2.md}, ...: each the model's whole answer, a {@code <think>} block included. A
 * request is matched to its problem by the problem's source in the first user message, and to its round by the
 * rounds already in the conversation (assistant turns plus the digests of older rounds). A round with no
 * recording gets an answer without code, which the loop reports as such.
 */
public final class ReplayLlmServer implements AutoCloseable {
  private static final Pattern DIGEST = Pattern.compile("(?m)^round (\\d+): ");
  private static final Pattern RECORDING = Pattern.compile("round-(\\d+)\\.md");
  private static final Pattern OMITTED = Pattern.compile("\\((\\d+) earlier rounds omitted\\)");

  private final HttpServer server;
  private final ObjectMapper json;
  private final Map<String, String> problemSources;
  private final Map<String, Map<Integer, String>> recordings;
  private final AtomicInteger served = new AtomicInteger();
  private final Map<String, AtomicInteger> ids = new ConcurrentHashMap<>();

  private ReplayLlmServer(HttpServer server, ObjectMapper json, Map<String, String> problemSources,
      Map<String, Map<Integer, String>> recordings) {
    this.server = server;
    this.json = json;
    this.problemSources = problemSources;
    this.recordings = recordings;
  }

  /**
   * Serves the recordings under {@code folder} for these problems (name to source) on a free loopback port.
   *
   * @throws IllegalArgumentException naming the folder when it holds no recording for any of the problems
   */
  public static ReplayLlmServer start(Path folder, Map<String, String> problemSources, ObjectMapper json) {
    Map<String, Map<Integer, String>> recordings = new TreeMap<>();
    for (String name : problemSources.keySet()) {
      Path dir = folder.resolve(name);
      if (!Files.isDirectory(dir)) {
        continue;
      }
      Map<Integer, String> rounds = new TreeMap<>();
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Matcher m = RECORDING.matcher(f.getFileName().toString());
          if (m.matches()) {
            rounds.put(Integer.parseInt(m.group(1)), Files.readString(f));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      recordings.put(name, rounds);
    }
    if (recordings.isEmpty()) {
      throw new IllegalArgumentException("replay: " + folder + " has no recordings for " + problemSources.keySet()
          + "; add <problem-name>/round-1.md there");
    }
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
      ReplayLlmServer replay = new ReplayLlmServer(server, json, Map.copyOf(problemSources), recordings);
      server.createContext("/v1/chat/completions", replay::handle);
      server.start();
      return replay;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The base URL to configure: {@code http://127.0.0.1:PORT/v1}. */
  public URI baseUrl() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
  }

  /** Answers served so far. */
  public int served() {
    return served.get();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      JsonNode request = json.readTree(exchange.getRequestBody());
      List<String> users = new ArrayList<>();
      int assistants = 0;
      for (JsonNode m : request.path("messages")) {
        switch (m.path("role").asText()) {
          case "user" -> users.add(m.path("content").asText());
          case "assistant" -> assistants++;
          default -> { }
        }
      }
      String first = users.isEmpty() ? "" : users.get(0);
      String problem = problemSources.entrySet().stream()
          .filter(e -> first.contains(e.getValue().strip()))
          .map(Map.Entry::getKey).findFirst().orElse(null);
      int round = assistants + digests(first) + 1;
      String answer = problem == null ? "I do not recognise this problem, so I have no recorded answer."
          : recordings.getOrDefault(problem, Map.of()).getOrDefault(round,
              "That was my last recorded idea for " + problem + " (round " + round + " has no recording).");
      served.incrementAndGet();
      String id = "replay-" + (problem == null ? "unknown" : problem) + "-"
          + ids.computeIfAbsent(String.valueOf(problem), p -> new AtomicInteger()).incrementAndGet();
      int promptTokens = request.path("messages").toString().length() / 4;
      int completionTokens = answer.length() / 4;
      if (request.path("stream").asBoolean(false)) {
        stream(exchange, id, answer, promptTokens, completionTokens);
      } else {
        ObjectNode body = json.createObjectNode();
        body.put("id", id).put("object", "chat.completion").put("model", request.path("model").asText());
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0).put("finish_reason", "stop");
        choice.putObject("message").put("role", "assistant").put("content", answer);
        body.putObject("usage").put("prompt_tokens", promptTokens).put("completion_tokens", completionTokens)
            .put("total_tokens", promptTokens + completionTokens);
        send(exchange, "application/json", json.writeValueAsBytes(body));
      }
    }
  }

  private static int digests(String firstUserMessage) {
    int count = 0;
    Matcher m = DIGEST.matcher(firstUserMessage);
    while (m.find()) {
      count++;
    }
    Matcher omitted = OMITTED.matcher(firstUserMessage);
    if (omitted.find()) {
      count += Integer.parseInt(omitted.group(1));
    }
    return count;
  }

  private void stream(HttpExchange exchange, String id, String answer, int promptTokens, int completionTokens)
      throws IOException {
    StringBuilder events = new StringBuilder();
    // A few chunks, as a real server sends them, so the client's stream assembly is exercised.
    int step = Math.max(1, answer.length() / 4);
    for (int i = 0; i < answer.length(); i += step) {
      ObjectNode chunk = json.createObjectNode();
      chunk.put("id", id).put("object", "chat.completion.chunk");
      ObjectNode choice = chunk.putArray("choices").addObject();
      choice.put("index", 0).putObject("delta").put("content", answer.substring(i, Math.min(answer.length(),
          i + step)));
      choice.putNull("finish_reason");
      events.append("data: ").append(json.writeValueAsString(chunk)).append("\n\n");
    }
    ObjectNode last = json.createObjectNode();
    last.put("id", id).put("object", "chat.completion.chunk");
    ObjectNode choice = last.putArray("choices").addObject();
    choice.put("index", 0).putObject("delta");
    choice.put("finish_reason", "stop");
    last.putObject("usage").put("prompt_tokens", promptTokens).put("completion_tokens", completionTokens)
        .put("total_tokens", promptTokens + completionTokens);
    events.append("data: ").append(json.writeValueAsString(last)).append("\n\n").append("data: [DONE]\n\n");
    send(exchange, "text/event-stream", events.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange exchange, String type, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(200, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
