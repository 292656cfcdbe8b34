package kernelfarm.coordinator.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way to call an LLM (STYLE §10): {@code POST {baseUrl}/chat/completions} of any OpenAI-compatible server,
 * streamed or not, over {@code java.net.http}. No thread ever waits: the answer is a {@link CompletionStage}, which an
 * actor receives through {@code pipeToSelf}.
 *
 * <ul>
 *   <li><b>Retries.</b> HTTP 429, 408 and 5xx, connection errors, timeouts and a stream that breaks off are retried
 *       up to {@link LlmEndpoint#maxRetries()} times, after exponential backoff with full jitter, or after the
 *       server's {@code Retry-After} when it sends one. Any other status fails at once, and so does a 2xx body that
 *       is not a chat completion: sending the same request again would get the same answer.
 *   <li><b>Concurrency.</b> At most {@link LlmEndpoint#maxConcurrency()} calls of this client are in flight; more
 *       wait in arrival order. A call keeps its slot while it backs off between attempts, so an endpoint that
 *       answers 429 is given fewer requests, not more. One client per endpoint, or the limit means nothing.
 *   <li><b>Streaming.</b> A streamed answer is parsed once it has ended; no partial answer is handed out.
 *   <li><b>Failures.</b> The stage fails with an {@link LlmException} (not wrapped) whose message names the endpoint,
 *       the status and the server's error text; never the key, the headers or the prompt. Logs carry the same
 *       facts as key-value pairs, at WARN for a retry and DEBUG otherwise.
 *   <li><b>Cancelling</b> the returned stage does not stop the call; it runs to its end and frees its slot then.
 *   <li><b>Health and stats.</b> The client counts its answers, failures, retries and the calls an {@link LlmPool}
 *       moved elsewhere ({@link #stats()}), and remembers a recent transient failure ({@link #coolingDown()}) so a
 *       pool tries its other endpoints first.
 * </ul>
 */
public final class LlmClient {
  private static final Logger log = LoggerFactory.getLogger(LlmClient.class);

  // Full jitter over a doubling ceiling: retry n waits up to 0.5 s × 2^(n-1), so branches that failed together
  // come back spread out, and the default four retries are over within 8 s at worst.
  static final Duration BACKOFF_BASE = Duration.ofMillis(500);
  static final Duration BACKOFF_CAP = Duration.ofSeconds(30);
  // Honoured, but bounded: a proxy that asks for an hour must not park a branch that long.
  static final Duration RETRY_AFTER_CAP = Duration.ofMinutes(5);
  // Enough of a server's error text to act on ("maximum context length is ..."), not a page of HTML.
  private static final int EXCERPT_CHARS = 200;
  // After a transient failure (429, 5xx, refused) a pool sends elsewhere first for this long; a success ends it.
  static final Duration COOLDOWN = Duration.ofSeconds(15);
  // Servers commonly allow 100 HTTP/2 streams per connection, and the JDK client fails the 101st call instead of
  // opening a second connection (JDK-8225647); above this, https goes over HTTP/1.1, one connection per call.
  static final int HTTP2_MAX_STREAMS = 100;

  private final LlmEndpoint endpoint;
  private final HttpClient http;
  private final ObjectMapper json;
  private final Clock clock;
  private final URI target;
  private final ConcurrencyLimit limit;
  private final LlmMetrics metrics;
  private final AtomicLong answered = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong retried = new AtomicLong();
  private final AtomicLong failedOver = new AtomicLong();
  private final AtomicInteger peakInFlight = new AtomicInteger();
  private volatile Instant lastTransientFailure;

  /**
   * @param http shared by every client of the process (the one in {@code Deps})
   * @param json the {@code ObjectMapper} from {@code JacksonObjectMapperProvider}
   * @param clock measures latency and reads {@code Retry-After} dates
   */
  public LlmClient(LlmEndpoint endpoint, HttpClient http, ObjectMapper json, Clock clock) {
    this(endpoint, http, json, clock, LlmMetrics.unscraped());
  }

  /** @param metrics the node's LLM metrics, where this client counts its requests and errors */
  public LlmClient(LlmEndpoint endpoint, HttpClient http, ObjectMapper json, Clock clock, LlmMetrics metrics) {
    this.metrics = metrics;
    this.endpoint = endpoint;
    this.http = http;
    this.json = json;
    this.clock = clock;
    this.target = endpoint.chatCompletions();
    this.limit = new ConcurrencyLimit(endpoint.maxConcurrency());
  }

  public LlmEndpoint endpoint() {
    return endpoint;
  }

  /** Calls holding a slot: sending, waiting for the answer, or backing off before a retry. */
  public int inFlight() {
    return limit.running();
  }

  /** Calls waiting for a slot. */
  public int queued() {
    return limit.waiting();
  }

  /**
   * What this client has done since it was made: the figures a pool spreads calls by and an operator reads.
   *
   * @param endpoint the endpoint's name
   * @param maxConcurrency calls it may have in flight
   * @param inFlight calls holding a slot now
   * @param queued calls waiting for a slot now
   * @param peakInFlight the most calls it had in flight at once
   * @param answered calls that got an answer
   * @param failed calls that failed here (refused, or retries spent), those then moved elsewhere included
   * @param retried attempts repeated after a transient failure
   * @param failedOver calls a pool moved to another endpoint after this one failed them
   */
  public record Stats(String endpoint, int maxConcurrency, int inFlight, int queued, int peakInFlight, long answered,
      long failed, long retried, long failedOver) {}

  public Stats stats() {
    return new Stats(endpoint.name(), endpoint.maxConcurrency(), limit.running(), limit.waiting(), peakInFlight.get(),
        answered.get(), failed.get(), retried.get(), failedOver.get());
  }

  /** Slots free now: the limit less the calls running and waiting; negative when calls queue. */
  int freeSlots() {
    return endpoint.maxConcurrency() - limit.running() - limit.waiting();
  }

  /** True within {@link #COOLDOWN} of a transient failure, unless a call has been answered since. */
  boolean coolingDown() {
    Instant last = lastTransientFailure;
    return last != null && clock.instant().isBefore(last.plus(COOLDOWN));
  }

  void countFailover() {
    failedOver.incrementAndGet();
  }

  /**
   * Asks the endpoint's model. Completes with the answer, or fails with an {@link LlmException} once the request
   * is refused or the retries are spent.
   */
  public CompletionStage<ChatResult> complete(ChatRequest request) {
    return complete(request, endpoint.maxRetries());
  }

  /**
   * Whether the endpoint answers HTTP at all: {@code GET {baseUrl}/models}, where any status (even 401 or 404)
   * counts as reachable. Completes with empty when it is, or with why not (refused, unknown host, no answer within
   * {@code timeout}); never fails. Costs no tokens, so a campaign can check its endpoints before it starts.
   */
  public CompletionStage<Optional<String>> probe(Duration timeout) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(endpoint.baseUrl() + "/models"))
        .timeout(timeout).GET();
    if (useHttp1()) {
      builder.version(HttpClient.Version.HTTP_1_1);
    }
    if (endpoint.apiKey() != null) {
      builder.header("Authorization", "Bearer " + endpoint.apiKey().reveal());
    }
    CompletableFuture<HttpResponse<Void>> sent;
    try {
      sent = http.sendAsync(builder.build(), HttpResponse.BodyHandlers.discarding());
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(Optional.of(describe(e)));
    }
    return sent.copy().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).handle((response, thrown) -> {
      if (thrown == null) {
        return Optional.<String>empty();
      }
      Throwable cause = unwrap(thrown);
      if (cause instanceof TimeoutException || cause instanceof HttpTimeoutException) {
        sent.cancel(true);
        return Optional.of("no answer within " + timeout.toMillis() / 1000.0 + " s");
      }
      return Optional.of(cause instanceof ConnectException
          ? "connection refused (" + describe(cause) + ")" : describe(cause));
    });
  }

  /** As {@link #complete(ChatRequest)}, with this many retries instead of the endpoint's. */
  CompletionStage<ChatResult> complete(ChatRequest request, int maxRetries) {
    byte[] body = requestBody(request);
    CompletableFuture<ChatResult> outcome = new CompletableFuture<>();
    CompletableFuture<ChatResult> answer = new CompletableFuture<>();
    // The slot is freed before the caller hears, and a caller that cancels its stage cannot free it early.
    outcome.whenComplete((result, failure) -> {
      limit.release();
      if (failure != null) {
        answer.completeExceptionally(failure);
      } else {
        answer.complete(result);
      }
    });
    limit.submit(() -> {
      peakInFlight.accumulateAndGet(limit.running(), Math::max);
      attempt(new Call(request.stream(), body, clock.instant(), maxRetries, outcome), 1);
    });
    return answer;
  }

  private record Call(boolean stream, byte[] body, Instant started, int maxRetries,
      CompletableFuture<ChatResult> outcome) {}

  private record Parsed(
      String content, String reasoning, int promptTokens, int completionTokens, int reasoningTokens,
      String finishReason) {}

  /** A 2xx body that is no chat completion. */
  private static final class BadBody extends Exception {
    private static final long serialVersionUID = 1L;
    final boolean retryable;

    BadBody(String message, boolean retryable) {
      super(message, null, false, false);
      this.retryable = retryable;
    }
  }

  private void attempt(Call call, int attempt) {
    CompletableFuture<HttpResponse<String>> sent;
    metrics.request(endpoint.name());
    try {
      sent = http.sendAsync(httpRequest(call), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      metrics.error(endpoint.name(), LlmMetrics.ErrorKind.not_sent);
      call.outcome().completeExceptionally(
          failure(0, attempt, false, false, "the request could not be sent (" + describe(e) + ")"));
      return;
    }
    // The request's own timeout stops at the response headers; a stream that stalls mid-answer needs this one.
    sent.copy().orTimeout(endpoint.requestTimeout().toMillis(), TimeUnit.MILLISECONDS).whenComplete(
        (response, thrown) -> {
          Throwable failure = unwrap(thrown);
          if (failure instanceof TimeoutException) {
            sent.cancel(true);
          }
          try {
            onAnswer(call, attempt, response, failure);
          } catch (RuntimeException bug) {
            call.outcome().completeExceptionally(bug);
          }
        });
  }

  private HttpRequest httpRequest(Call call) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(target)
        .timeout(endpoint.requestTimeout())
        .header("Content-Type", "application/json")
        .header("Accept", call.stream() ? "text/event-stream" : "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(call.body()));
    if (useHttp1()) {
      builder.version(HttpClient.Version.HTTP_1_1);
    }
    if (endpoint.apiKey() != null) {
      builder.header("Authorization", "Bearer " + endpoint.apiKey().reveal());
    }
    return builder.build();
  }

  /**
   * Local servers (vLLM, SGLang, Ollama) speak HTTP/1.1 only, and the default would offer an h2c upgrade; and an
   * https endpoint allowed more calls than one HTTP/2 connection carries needs a connection per call.
   */
  private boolean useHttp1() {
    return target.getScheme().equalsIgnoreCase("http") || endpoint.maxConcurrency() > HTTP2_MAX_STREAMS;
  }

  private void onAnswer(Call call, int attempt, HttpResponse<String> response, Throwable failure) {
    if (failure instanceof TimeoutException || failure instanceof HttpTimeoutException) {
      metrics.error(endpoint.name(), LlmMetrics.ErrorKind.timeout);
      retryOrFail(call, attempt, 0, "timeout",
          "no answer within " + endpoint.requestTimeout().toMillis() / 1000.0 + " s", null);
    } else if (failure instanceof IOException) {
      metrics.error(endpoint.name(), LlmMetrics.ErrorKind.connection);
      retryOrFail(call, attempt, 0, "connection", "connection failed (" + describe(failure) + ")", null);
    } else if (failure != null) {
      metrics.error(endpoint.name(), LlmMetrics.ErrorKind.not_sent);
      call.outcome().completeExceptionally(failure(0, attempt, false, false, "the call failed (" + describe(failure) + ")"));
    } else if (response.statusCode() / 100 == 2) {
      onSuccessStatus(call, attempt, response);
    } else {
      int status = response.statusCode();
      String reason = "HTTP " + status + errorExcerpt(response.body());
      metrics.error(endpoint.name(), status == 429 || status == 408 ? LlmMetrics.ErrorKind.throttled
          : status >= 500 ? LlmMetrics.ErrorKind.server : LlmMetrics.ErrorKind.refused);
      if (status == 429 || status == 408 || status >= 500) {
        retryOrFail(call, attempt, status, "status", reason,
            response.headers().firstValue("Retry-After").orElse(null));
      } else {
        call.outcome().completeExceptionally(
            failure(status, attempt, false, false, reason + " (not retried: the server refused the request itself)"));
      }
    }
  }

  private void onSuccessStatus(Call call, int attempt, HttpResponse<String> response) {
    int status = response.statusCode();
    Parsed parsed;
    try {
      parsed = call.stream() ? parseStream(response.body()) : parseJson(response.body());
    } catch (BadBody bad) {
      metrics.error(endpoint.name(), LlmMetrics.ErrorKind.bad_answer);
      if (bad.retryable) {
        retryOrFail(call, attempt, status, "stream", "HTTP " + status + " but " + bad.getMessage(), null);
      } else {
        call.outcome().completeExceptionally(
            failure(status, attempt, false, false, "HTTP " + status + " but " + bad.getMessage()));
      }
      return;
    }
    lastTransientFailure = null;
    answered.incrementAndGet();
    call.outcome().complete(result(parsed, call, attempt));
  }

  /** {@code cause} is what the log may say; {@code reason}, with the server's own words, goes to the caller only. */
  private void retryOrFail(Call call, int attempt, int status, String cause, String reason, String retryAfter) {
    lastTransientFailure = clock.instant();
    if (attempt > call.maxRetries()) {
      call.outcome().completeExceptionally(failure(status, attempt, true, cause.equals("connection"),
          reason + "; gave up after " + attempt
          + (attempt == 1 ? " attempt" : " attempts") + " (maxRetries " + call.maxRetries() + ")"));
      return;
    }
    retried.incrementAndGet();
    Optional<Duration> asked = retryAfter == null ? Optional.empty() : parseRetryAfter(retryAfter, clock.instant());
    Duration delay = backoff(attempt, asked);
    log.atWarn().addKeyValue("endpoint", endpoint.name()).addKeyValue("model", endpoint.model())
        .addKeyValue("attempt", attempt).addKeyValue("cause", cause).addKeyValue("status", status)
        .addKeyValue("retryIn", delay)
        .log("llm call failed; retrying");
    // This is no actor, so actor timers (STYLE §10) do not apply: the JDK's shared delay scheduler starts the next
    // attempt, and no thread waits for it.
    CompletableFuture.delayedExecutor(delay.toMillis(), TimeUnit.MILLISECONDS)
        .execute(() -> attempt(call, attempt + 1));
  }

  private ChatResult result(Parsed parsed, Call call, int attempt) {
    ThinkBlocks.Split split = ThinkBlocks.split(parsed.content());
    String reasoning = parsed.reasoning().strip();
    if (!split.reasoning().isEmpty()) {
      reasoning = reasoning.isEmpty() ? split.reasoning() : reasoning + "\n\n" + split.reasoning();
    }
    // Reasoning tokens are already part of the completion tokens: counting them again would bill them twice.
    double cost = (parsed.promptTokens() * endpoint.pricePerMillionInputTokens()
        + parsed.completionTokens() * endpoint.pricePerMillionOutputTokens()) / 1e6;
    Duration latency = Duration.between(call.started(), clock.instant());
    ChatResult result = new ChatResult(split.answer(), reasoning, parsed.promptTokens(), parsed.completionTokens(),
        parsed.reasoningTokens(), cost, latency.isNegative() ? Duration.ZERO : latency, attempt,
        parsed.finishReason(), endpoint.name());
    log.atDebug().addKeyValue("endpoint", endpoint.name()).addKeyValue("model", endpoint.model())
        .addKeyValue("attempt", attempt).addKeyValue("promptTokens", result.promptTokens())
        .addKeyValue("completionTokens", result.completionTokens())
        .addKeyValue("reasoningTokens", result.reasoningTokens()).addKeyValue("costUsd", result.costUsd())
        .addKeyValue("latency", result.latency()).addKeyValue("finishReason", result.finishReason())
        .log("llm answered");
    return result;
  }

  private LlmException failure(int status, int attempts, boolean transient_, boolean unreachable, String reason) {
    failed.incrementAndGet();
    String text = reason;
    if (endpoint.apiKey() != null) {
      // Some servers quote the key they refused.
      text = text.replace(endpoint.apiKey().reveal(), "***");
    }
    log.atDebug().addKeyValue("endpoint", endpoint.name()).addKeyValue("model", endpoint.model())
        .addKeyValue("attempt", attempts).addKeyValue("status", status).log("llm call failed");
    return new LlmException(endpoint.name(), status, attempts, transient_, unreachable,
        "llm endpoint \"" + endpoint.name() + "\" (model " + endpoint.model() + "): " + text);
  }

  private byte[] requestBody(ChatRequest request) {
    ObjectNode body = json.createObjectNode();
    body.put("model", endpoint.model());
    ArrayNode messages = body.putArray("messages");
    request.messages().forEach(m -> messages.addObject().put("role", m.role()).put("content", m.content()));
    body.put("temperature", request.temperature());
    body.put("max_tokens", request.maxTokens());
    if (request.reasoningEffort() != null) {
      body.put("reasoning_effort", request.reasoningEffort());
    }
    body.put("stream", request.stream());
    if (request.stream()) {
      // Without it a streamed answer reports no usage, and tokens and cost would read 0.
      body.putObject("stream_options").put("include_usage", true);
    }
    try {
      return json.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Parsed parseJson(String body) throws BadBody {
    JsonNode root = readObject(body, "the body");
    if (root.hasNonNull("error")) {
      throw new BadBody("the body is an error: " + errorText(root), false);
    }
    JsonNode choices = root.path("choices");
    if (!choices.isArray() || choices.isEmpty()) {
      throw new BadBody("the body has no choices (starts \"" + excerpt(body, 80) + "\")", false);
    }
    JsonNode choice = choices.get(0);
    JsonNode message = choice.path("message");
    if (!message.isObject()) {
      throw new BadBody("choices[0] has no message", false);
    }
    JsonNode usage = root.path("usage");
    return new Parsed(text(message, "content"), reasoningOf(message), tokens(usage, "prompt_tokens"),
        tokens(usage, "completion_tokens"), tokens(usage.path("completion_tokens_details"), "reasoning_tokens"),
        text(choice, "finish_reason"));
  }

  private Parsed parseStream(String body) throws BadBody {
    List<String> events = sseData(body);
    if (events.isEmpty() && body.strip().startsWith("{")) {
      // A server that ignores "stream" answers with one JSON object; take it.
      return parseJson(body);
    }
    StringBuilder content = new StringBuilder();
    StringBuilder reasoning = new StringBuilder();
    String finishReason = "";
    JsonNode usage = null;
    boolean sawChoice = false;
    boolean done = false;
    for (String event : events) {
      if (event.strip().equals("[DONE]")) {
        done = true;
        break;
      }
      JsonNode chunk = readObject(event, "a stream event");
      if (chunk.hasNonNull("error")) {
        throw new BadBody("the stream broke off with an error: " + errorText(chunk), true);
      }
      for (JsonNode choice : chunk.path("choices")) {
        if (choice.path("index").asInt(0) != 0) {
          continue;
        }
        sawChoice = true;
        JsonNode delta = choice.path("delta");
        content.append(text(delta, "content"));
        reasoning.append(reasoningOf(delta));
        if (choice.path("finish_reason").isTextual()) {
          finishReason = choice.get("finish_reason").asText();
        }
      }
      if (chunk.path("usage").isObject()) {
        usage = chunk.get("usage");
      }
    }
    if (!sawChoice) {
      throw new BadBody("the stream has no choices (starts \"" + excerpt(body, 80) + "\")", false);
    }
    if (!done && finishReason.isEmpty()) {
      throw new BadBody("the stream ended without a finish reason or [DONE]", true);
    }
    JsonNode u = usage == null ? json.missingNode() : usage;
    return new Parsed(content.toString(), reasoning.toString(), tokens(u, "prompt_tokens"),
        tokens(u, "completion_tokens"), tokens(u.path("completion_tokens_details"), "reasoning_tokens"),
        finishReason);
  }

  /** The data of each Server-Sent Event, its {@code data:} lines joined; comments and other fields dropped. */
  static List<String> sseData(String body) {
    List<String> events = new ArrayList<>();
    StringBuilder data = null;
    for (String line : body.split("\r\n|\r|\n", -1)) {
      if (line.isEmpty()) {
        if (data != null) {
          events.add(data.toString());
          data = null;
        }
      } else if (line.startsWith("data:")) {
        String value = line.startsWith("data: ") ? line.substring(6) : line.substring(5);
        data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
      }
    }
    if (data != null) {
      events.add(data.toString());
    }
    return events;
  }

  private JsonNode readObject(String text, String what) throws BadBody {
    try {
      JsonNode node = json.readTree(text);
      if (node != null && node.isObject()) {
        return node;
      }
    } catch (JsonProcessingException e) {
      // reported below, with the start of the text
    }
    throw new BadBody(what + " is not a JSON object (starts \"" + excerpt(text, 80) + "\")", false);
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.path(field);
    return value.isTextual() ? value.asText() : "";
  }

  /** DeepSeek, vLLM and SGLang say {@code reasoning_content}; OpenRouter and newer vLLM say {@code reasoning}. */
  private static String reasoningOf(JsonNode node) {
    String reasoning = text(node, "reasoning_content");
    return reasoning.isEmpty() ? text(node, "reasoning") : reasoning;
  }

  private static int tokens(JsonNode usage, String field) {
    return Math.max(0, usage.path(field).asInt(0));
  }

  /** ": " and the server's error message from a non-2xx body, or its start when it is not JSON. */
  private String errorExcerpt(String body) {
    if (body == null || body.isBlank()) {
      return "";
    }
    try {
      JsonNode root = json.readTree(body);
      if (root != null && root.isObject()) {
        return ": " + errorText(root);
      }
    } catch (JsonProcessingException e) {
      // not JSON: an HTML error page from a proxy, say
    }
    return ": " + excerpt(body, EXCERPT_CHARS);
  }

  /** OpenAI's {@code error.message}, a bare {@code error} string, or FastAPI's {@code detail}, cut short. */
  private static String errorText(JsonNode root) {
    JsonNode error = root.path("error");
    String text = error.isObject() ? text(error, "message") : error.isTextual() ? error.asText() : "";
    if (text.isEmpty()) {
      text = text(root, "message");
    }
    if (text.isEmpty() && root.has("detail")) {
      text = root.get("detail").isTextual() ? root.get("detail").asText() : root.get("detail").toString();
    }
    return text.isEmpty() ? "(no message)" : excerpt(text, EXCERPT_CHARS);
  }

  private static String excerpt(String text, int max) {
    String flat = text.strip().replaceAll("\\s+", " ");
    return flat.length() <= max ? flat : flat.substring(0, max) + "...";
  }

  private static String describe(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": "
        + excerpt(t.getMessage(), EXCERPT_CHARS);
  }

  private static Throwable unwrap(Throwable t) {
    Throwable cause = t;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  /**
   * Full jitter: a uniform wait up to the attempt's ceiling. A server's {@code Retry-After} is a floor instead,
   * with a little jitter on top so that branches told the same wait do not return together.
   */
  static Duration backoff(int attempt, Optional<Duration> retryAfter) {
    long ceiling = Math.min(BACKOFF_CAP.toMillis(), BACKOFF_BASE.toMillis() << Math.min(attempt - 1, 16));
    long jitter = ThreadLocalRandom.current().nextLong(ceiling + 1);
    return retryAfter.map(asked -> asked.plusMillis(jitter / 4)).orElse(Duration.ofMillis(jitter));
  }

  /** {@code Retry-After} as delta-seconds or an HTTP-date, capped; empty when it is neither. */
  static Optional<Duration> parseRetryAfter(String value, Instant now) {
    String v = value.strip();
    Duration asked;
    if (v.matches("\\d+(\\.\\d+)?")) {
      asked = Duration.ofMillis((long) Math.min(Double.parseDouble(v) * 1000, RETRY_AFTER_CAP.toMillis()));
    } else {
      try {
        asked = Duration.between(now, ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
      } catch (DateTimeParseException e) {
        return Optional.empty();
      }
    }
    if (asked.isNegative()) {
      return Optional.of(Duration.ZERO);
    }
    return Optional.of(asked.compareTo(RETRY_AFTER_CAP) > 0 ? RETRY_AFTER_CAP : asked);
  }
}
