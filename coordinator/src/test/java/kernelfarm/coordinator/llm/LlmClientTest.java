package kernelfarm.coordinator.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The client against the fake OpenAI server: parsing, retries, limits, secrets and cost. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlmClientTest {
  private static final String KEY = "sk-kfarm-unit-test-key-0123456789";
  private static final String PROMPT = "Write ModelNew for problem 19 (ReLU), tuned for H100";
  private static final String CODE = "```python\nimport torch\n\nclass ModelNew(torch.nn.Module):\n"
      + "    def forward(self, x):\n        return torch.relu(x)\n```";

  // Only for the ObjectMapper that production gets from JacksonObjectMapperProvider.
  private final ActorTestKit kit = ActorTestKit.create();
  private final ObjectMapper json =
      JacksonObjectMapperProvider.get(kit.system()).getOrCreate("jackson-json", Optional.empty());
  private final HttpClient http = HttpClient.newHttpClient();
  private FakeLlmServer llm;

  @BeforeEach
  void startServer() {
    llm = FakeLlmServer.start(json);
  }

  @AfterEach
  void stopServer() {
    llm.close();
  }

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  private LlmEndpoint endpoint(Secret key, int concurrency, Duration timeout, int retries, double in, double out) {
    return new LlmEndpoint("fake-r1", llm.baseUrl(), "deepseek-ai/deepseek-r1", key, concurrency, timeout, retries,
        in, out);
  }

  private LlmClient client(LlmEndpoint endpoint) {
    return new LlmClient(endpoint, http, json, Clock.systemUTC());
  }

  private LlmClient client() {
    return client(endpoint(Secret.of(KEY), 4, Duration.ofSeconds(5), 2, 0, 0));
  }

  private static ChatRequest request(boolean stream, String reasoningEffort) {
    return new ChatRequest(List.of(ChatMessage.system("You write CUDA kernels."), ChatMessage.user(PROMPT)), 0.6,
        4096, reasoningEffort, stream);
  }

  private static ChatResult answerOf(CompletionStage<ChatResult> stage) throws Exception {
    return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static LlmException failureOf(CompletionStage<ChatResult> stage) {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> stage.toCompletableFuture().get(20, TimeUnit.SECONDS));
    return assertInstanceOf(LlmException.class, e.getCause());
  }

  @Test
  void nonStreamingAnswerParsesContentReasoningAndUsage() throws Exception {
    llm.script(FakeLlmServer.answer("Fused it.\n" + CODE).withReasoning("ReLU is memory bound.")
        .withUsage(120, 80, 30));

    ChatResult result = answerOf(client().complete(request(false, null)));

    assertEquals("Fused it.\n" + CODE, result.content());
    assertEquals("ReLU is memory bound.", result.reasoning());
    assertEquals(120, result.promptTokens());
    assertEquals(80, result.completionTokens());
    assertEquals(30, result.reasoningTokens());
    assertEquals("stop", result.finishReason());
    assertEquals(1, result.attempts());
    FakeLlmServer.Recorded sent = llm.requests().get(0);
    assertEquals("/v1/chat/completions", sent.path());
    assertEquals("deepseek-ai/deepseek-r1", sent.body().get("model").asText());
    assertEquals(PROMPT, sent.body().get("messages").get(1).get("content").asText());
    assertEquals("user", sent.body().get("messages").get(1).get("role").asText());
    assertEquals(0.6, sent.body().get("temperature").asDouble());
    assertEquals(4096, sent.body().get("max_tokens").asInt());
    assertFalse(sent.body().get("stream").asBoolean());
    assertFalse(sent.body().has("stream_options"));
    assertFalse(sent.body().has("reasoning_effort"), "reasoning_effort is sent only when set");
  }

  @Test
  void streamingAnswerAccumulatesDeltasAndTakesUsageFromTheLastChunk() throws Exception {
    llm.script(FakeLlmServer.answer("Here is a faster ReLU.\n" + CODE)
        .withReasoning("Vectorised loads with float4 would help; one pass.").withUsage(200, 150, 60));

    ChatResult result = answerOf(client().complete(request(true, "high")));

    assertEquals("Here is a faster ReLU.\n" + CODE, result.content());
    assertEquals("Vectorised loads with float4 would help; one pass.", result.reasoning());
    assertEquals(200, result.promptTokens());
    assertEquals(150, result.completionTokens());
    assertEquals(60, result.reasoningTokens());
    assertEquals("stop", result.finishReason());
    JsonNode body = llm.requests().get(0).body();
    assertTrue(body.get("stream").asBoolean());
    assertTrue(body.get("stream_options").get("include_usage").asBoolean());
    assertEquals("high", body.get("reasoning_effort").asText());
    assertEquals("text/event-stream", llm.requests().get(0).header("Accept"));
  }

  @Test
  void thinkBlocksMoveFromContentIntoReasoning() throws Exception {
    llm.script(
        FakeLlmServer.answer("<think>Try shared memory.\n```python\nclass ModelNew: draft\n```</think>\n\n" + CODE),
        FakeLlmServer.answer("<think>second thoughts</think>Final.").withReasoning("from the server"));
    LlmClient client = client();

    ChatResult streamed = answerOf(client.complete(request(true, null)));
    ChatResult plain = answerOf(client.complete(request(false, null)));

    assertEquals(CODE, streamed.content());
    assertEquals("Try shared memory.\n```python\nclass ModelNew: draft\n```", streamed.reasoning());
    assertEquals("Final.", plain.content());
    assertEquals("from the server\n\nsecond thoughts", plain.reasoning());
  }

  @Test
  void tooManyRequestsIsRetriedAfterRetryAfter() throws Exception {
    llm.script(FakeLlmServer.tooManyRequests(1), FakeLlmServer.answer("ok"));

    ChatResult result = answerOf(client().complete(request(false, null)));

    assertEquals("ok", result.content());
    assertEquals(2, result.attempts());
    List<FakeLlmServer.Recorded> sent = llm.requests();
    assertEquals(2, sent.size());
    // Our own backoff alone would retry within 0.5 s.
    Duration gap = Duration.ofNanos(sent.get(1).arrivedNanos() - sent.get(0).arrivedNanos());
    assertTrue(gap.compareTo(Duration.ofMillis(950)) >= 0, "retried after " + gap + ", before Retry-After: 1");
    assertTrue(result.latency().compareTo(Duration.ofMillis(950)) >= 0, "latency counts the wait: " + result.latency());
  }

  @Test
  void serverErrorIsRetriedThenSucceeds() throws Exception {
    llm.script(FakeLlmServer.status(500, "upstream crashed"), FakeLlmServer.status(503, "loading model"),
        FakeLlmServer.answer("ok"));

    ChatResult result = answerOf(client().complete(request(false, null)));

    assertEquals("ok", result.content());
    assertEquals(3, result.attempts());
  }

  @Test
  void everyRequestAndEachFailedOneByKindAreCountedPerEndpoint() throws Exception {
    PrometheusRegistry registry = new PrometheusRegistry();
    LlmMetrics metrics = new LlmMetrics(registry, List.of("fake-r1"));
    LlmClient client = new LlmClient(endpoint(null, 2, Duration.ofMillis(400), 3, 0, 0), http, json,
        Clock.systemUTC(), metrics);
    llm.script(FakeLlmServer.status(503, "loading model"), FakeLlmServer.status(429, "slow down"),
        FakeLlmServer.after(Duration.ofSeconds(3), FakeLlmServer.answer("too late")), FakeLlmServer.answer("ok"));
    assertEquals("ok", answerOf(client.complete(request(false, null))).content());
    llm.script(FakeLlmServer.status(400, "bad request"));
    failureOf(client.complete(request(false, null)));

    Map<String, Double> counted = new java.util.TreeMap<>();
    registry.scrape().forEach(snapshot -> snapshot.getDataPoints().forEach(point -> {
      List<String> labels = new ArrayList<>();
      point.getLabels().forEach(label -> labels.add(label.getName() + "=\"" + label.getValue() + "\""));
      counted.put(snapshot.getMetadata().getName() + "{" + String.join(",", labels) + "}",
          ((io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot) point).getValue());
    }));
    assertEquals(5.0, counted.get("kfarm_llm_requests{endpoint=\"fake-r1\"}"), counted.toString());
    assertEquals(1.0, counted.get("kfarm_llm_errors{endpoint=\"fake-r1\",kind=\"server\"}"), counted.toString());
    assertEquals(1.0, counted.get("kfarm_llm_errors{endpoint=\"fake-r1\",kind=\"throttled\"}"));
    assertEquals(1.0, counted.get("kfarm_llm_errors{endpoint=\"fake-r1\",kind=\"timeout\"}"));
    assertEquals(1.0, counted.get("kfarm_llm_errors{endpoint=\"fake-r1\",kind=\"refused\"}"));
    assertEquals(0.0, counted.get("kfarm_llm_errors{endpoint=\"fake-r1\",kind=\"connection\"}"));
  }

  @Test
  void timeoutIsRetriedThenSucceeds() throws Exception {
    llm.script(FakeLlmServer.after(Duration.ofSeconds(3), FakeLlmServer.answer("too late")),
        FakeLlmServer.answer("on time"));
    LlmClient client = client(endpoint(null, 2, Duration.ofMillis(400), 2, 0, 0));

    ChatResult result = answerOf(client.complete(request(false, null)));

    assertEquals("on time", result.content());
    assertEquals(2, result.attempts());
  }

  @Test
  void streamThatStallsMidAnswerTimesOutAndIsRetried() throws Exception {
    llm.script(new FakeLlmServer.PausedStream(Duration.ofSeconds(3), FakeLlmServer.answer("too late")),
        FakeLlmServer.answer("on time"));
    LlmClient client = client(endpoint(null, 2, Duration.ofMillis(400), 2, 0, 0));

    ChatResult result = answerOf(client.complete(request(true, null)));

    assertEquals("on time", result.content());
    assertEquals(2, result.attempts());
  }

  @Test
  void streamThatBreaksOffIsRetried() throws Exception {
    llm.script(new FakeLlmServer.Raw(200, "text/event-stream",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"half an ans\"}}]}\n\n"),
        FakeLlmServer.answer("whole answer"));

    ChatResult result = answerOf(client().complete(request(true, null)));

    assertEquals("whole answer", result.content());
    assertEquals(2, result.attempts());
  }

  @Test
  void exhaustedRetriesFailNamingEndpointAndStatusButNeverTheKey() {
    llm.script(FakeLlmServer.status(500, "bad key " + KEY), FakeLlmServer.status(500, "bad key " + KEY),
        FakeLlmServer.status(500, "bad key " + KEY));

    LlmException failure = failureOf(client().complete(request(false, null)));

    assertEquals(3, llm.requests().size());
    assertEquals(3, failure.attempts());
    assertEquals(500, failure.status());
    assertEquals("fake-r1", failure.endpoint());
    String message = failure.getMessage();
    assertTrue(message.contains("\"fake-r1\""), message);
    assertTrue(message.contains("HTTP 500"), message);
    assertTrue(message.contains("3 attempts"), message);
    assertFalse(message.contains(KEY), message);
    assertFalse(message.contains(PROMPT), message);
  }

  @Test
  void clientErrorFailsAtOnceWithTheServersReason() {
    llm.script(FakeLlmServer.status(400, "This model's maximum context length is 4096 tokens"),
        FakeLlmServer.answer("never asked for"));

    LlmException failure = failureOf(client().complete(request(false, null)));

    assertEquals(1, llm.requests().size(), "a 400 is not retried");
    assertEquals(400, failure.status());
    assertEquals(1, failure.attempts());
    assertTrue(failure.getMessage().contains("HTTP 400"), failure.getMessage());
    assertTrue(failure.getMessage().contains("maximum context length is 4096"), failure.getMessage());
    assertTrue(failure.getMessage().contains("fake-r1"), failure.getMessage());
    assertFalse(failure.getMessage().contains(PROMPT), failure.getMessage());
  }

  @Test
  void malformedBodiesFailAtOnceWithAClearMessage() {
    llm.script(FakeLlmServer.malformed("<html>gateway says hi</html>"), FakeLlmServer.malformed("{\"id\":\"x\"}"));
    LlmClient client = client();

    LlmException notJson = failureOf(client.complete(request(false, null)));
    LlmException noChoices = failureOf(client.complete(request(false, null)));

    assertTrue(notJson.getMessage().contains("not a JSON object"), notJson.getMessage());
    assertTrue(noChoices.getMessage().contains("no choices"), noChoices.getMessage());
    assertEquals(2, llm.requests().size(), "a 200 that is no completion is not retried");
  }

  @Test
  void concurrencyLimitQueuesCallsBeyondIt() throws Exception {
    llm.otherwise(FakeLlmServer.after(Duration.ofMillis(300), FakeLlmServer.answer("ok")));
    LlmClient client = client(endpoint(null, 2, Duration.ofSeconds(5), 0, 0, 0));

    List<CompletionStage<ChatResult>> calls = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      calls.add(client.complete(request(i % 2 == 0, null)));
    }
    assertEquals(4, client.queued());
    for (CompletionStage<ChatResult> call : calls) {
      assertEquals("ok", answerOf(call).content());
    }

    assertEquals(6, llm.requests().size());
    assertEquals(2, llm.maxConcurrent(), "requests the server held at once");
    assertEquals(0, client.inFlight());
  }

  @Test
  void authorizationCarriesTheKeyWhileEveryPrintedFormHidesIt() throws Exception {
    llm.script(FakeLlmServer.answer("ok"));
    LlmEndpoint endpoint = endpoint(Secret.of(KEY), 4, Duration.ofSeconds(5), 2, 0, 0);

    answerOf(client(endpoint).complete(request(false, null)));

    assertEquals("Bearer " + KEY, llm.requests().get(0).header("Authorization"));
    assertEquals("***", Secret.of(KEY).toString());
    assertFalse(endpoint.toString().contains(KEY), endpoint.toString());
    assertTrue(endpoint.toString().contains("apiKey=***"), endpoint.toString());
    String written = json.writeValueAsString(endpoint);
    assertFalse(written.contains(KEY), written);
  }

  @Test
  void endpointWithoutKeySendsNoAuthorization() throws Exception {
    llm.script(FakeLlmServer.answer("ok"));

    answerOf(client(endpoint(null, 1, Duration.ofSeconds(5), 0, 0, 0)).complete(request(false, null)));

    assertNull(llm.requests().get(0).header("Authorization"));
  }

  @Test
  void refusedKeyQuotedByTheServerIsRedacted() {
    llm.script(FakeLlmServer.status(401, "Incorrect API key provided: " + KEY));

    LlmException failure = failureOf(client().complete(request(false, null)));

    assertEquals(401, failure.status());
    assertFalse(failure.getMessage().contains(KEY), failure.getMessage());
    assertTrue(failure.getMessage().contains("Incorrect API key provided: ***"), failure.getMessage());
  }

  @Test
  void costIsTokensTimesPricePerMillion() throws Exception {
    llm.script(FakeLlmServer.answer("ok").withUsage(1000, 500, 200));
    // DeepSeek-R1-like prices: $0.55 in, $2.19 out per million.
    LlmClient client = client(endpoint(null, 1, Duration.ofSeconds(5), 0, 0.55, 2.19));

    ChatResult result = answerOf(client.complete(request(true, null)));

    assertEquals((1000 * 0.55 + 500 * 2.19) / 1e6, result.costUsd(), 1e-12);
  }

  @Test
  void answerWithoutCodeParsesButYieldsNoCandidate() throws Exception {
    llm.script(FakeLlmServer.answer("I would fuse the ReLU into the previous GEMM's epilogue."));

    ChatResult result = answerOf(client().complete(request(false, null)));

    assertEquals("I would fuse the ReLU into the previous GEMM's epilogue.", result.content());
    assertEquals(Optional.empty(), CodeExtractor.extract(result.content()));
  }

  @Test
  void retryAfterReadsSecondsAndHttpDates() {
    Instant now = Instant.parse("2026-03-01T12:00:00Z");
    String inFiveSeconds = DateTimeFormatter.RFC_1123_DATE_TIME.format(now.plusSeconds(5).atZone(ZoneOffset.UTC));

    assertEquals(Optional.of(Duration.ofSeconds(2)), LlmClient.parseRetryAfter("2", now));
    assertEquals(Optional.of(Duration.ofMillis(1500)), LlmClient.parseRetryAfter(" 1.5 ", now));
    assertEquals(Optional.of(Duration.ofSeconds(5)), LlmClient.parseRetryAfter(inFiveSeconds, now));
    assertEquals(Optional.of(Duration.ZERO), LlmClient.parseRetryAfter("Sun, 01 Mar 2026 11:00:00 GMT", now));
    assertEquals(Optional.of(LlmClient.RETRY_AFTER_CAP), LlmClient.parseRetryAfter("86400", now));
    assertEquals(Optional.empty(), LlmClient.parseRetryAfter("soon", now));
  }

  @Test
  void backoffIsFullJitterUnderADoublingCeilingAndRetryAfterIsAFloor() {
    for (int i = 0; i < 200; i++) {
      assertTrue(LlmClient.backoff(1, Optional.empty()).compareTo(LlmClient.BACKOFF_BASE) <= 0);
      assertTrue(LlmClient.backoff(3, Optional.empty()).compareTo(LlmClient.BACKOFF_BASE.multipliedBy(4)) <= 0);
      assertTrue(LlmClient.backoff(30, Optional.empty()).compareTo(LlmClient.BACKOFF_CAP) <= 0);
      assertTrue(LlmClient.backoff(1, Optional.of(Duration.ofSeconds(1))).compareTo(Duration.ofSeconds(1)) >= 0);
    }
  }

  @Test
  void sseDataJoinsMultiLineEventsAndSkipsComments() {
    assertEquals(List.of("{\"a\":\n1}", "[DONE]"),
        LlmClient.sseData(": ping\r\n\r\nevent: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\ndata: [DONE]\r\n\r\n"));
  }
}
