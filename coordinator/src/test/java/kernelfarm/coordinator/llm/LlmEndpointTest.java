package kernelfarm.coordinator.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Endpoint validation and the environment variables that describe the default endpoint. */
class LlmEndpointTest {
  private static LlmEndpoint endpoint(String url, String model, int concurrency, Duration timeout, int retries) {
    return new LlmEndpoint("local-vllm", URI.create(url), model, null, concurrency, timeout, retries, 0, 0);
  }

  private static String refusal(Runnable construct) {
    return assertThrows(IllegalArgumentException.class, construct::run).getMessage();
  }

  @Test
  void refusedValuesAreNamedWithTheirFix() {
    Duration minute = Duration.ofMinutes(1);
    assertEquals("baseUrl must be http(s), got \"ftp://x\"; write e.g. http://localhost:8000/v1",
        refusal(() -> endpoint("ftp://x", "m", 1, minute, 0)));
    assertTrue(refusal(() -> endpoint("http://h/v1", " ", 1, minute, 0)).startsWith("model must not be blank"));
    assertTrue(refusal(() -> endpoint("http://h/v1", "m", 0, minute, 0))
        .startsWith("maxConcurrency must be >= 1, got 0"));
    assertTrue(refusal(() -> endpoint("http://h/v1", "m", 1, Duration.ZERO, 0)).startsWith("requestTimeout must be"));
    assertTrue(refusal(() -> endpoint("http://h/v1", "m", 1, minute, -1)).startsWith("maxRetries must be >= 0"));
    assertTrue(refusal(() -> new LlmEndpoint("n", URI.create("http://h/v1"), "m", null, 1, minute, 0, Double.NaN, 0))
        .startsWith("pricePerMillionInputTokens must be >= 0"));
  }

  @Test
  void credentialsInTheUrlAreRefusedWithoutBeingRepeated() {
    String message =
        refusal(() -> endpoint("https://user:sk-in-url@api.example.com/v1", "m", 1, Duration.ofMinutes(1), 0));
    assertFalse(message.contains("sk-in-url"), message);
    assertTrue(message.contains("must not carry credentials"), message);
  }

  @Test
  void trailingSlashIsDroppedSoThePathJoinsCleanly() {
    LlmEndpoint e = endpoint("http://gpu-box:8000/v1/", "m", 1, Duration.ofMinutes(1), 0);
    assertEquals(URI.create("http://gpu-box:8000/v1/chat/completions"), e.chatCompletions());
  }

  @Test
  void environmentWithoutBaseUrlGivesNoEndpoint() {
    assertEquals(Optional.empty(), LlmEndpoint.fromEnvironment(Map.of("KFARM_LLM_MODEL", "m")));
  }

  @Test
  void environmentDescribesTheDefaultEndpoint() {
    LlmEndpoint nim = LlmEndpoint.fromEnvironment(Map.of(
        "KFARM_LLM_BASE_URL", "https://integrate.api.nvidia.com/v1",
        "KFARM_LLM_MODEL", "deepseek-ai/deepseek-r1",
        "KFARM_LLM_API_KEY", "nvapi-secret")).orElseThrow();
    LlmEndpoint ollama = LlmEndpoint.fromEnvironment(Map.of(
        "KFARM_LLM_BASE_URL", "http://localhost:11434/v1", "KFARM_LLM_MODEL", "qwen2.5-coder")).orElseThrow();

    assertEquals("default", nim.name());
    assertEquals("nvapi-secret", nim.apiKey().reveal());
    assertEquals("deepseek-ai/deepseek-r1", nim.model());
    assertNull(ollama.apiKey());
  }

  @Test
  void environmentWithBaseUrlButNoModelSaysWhichVariableToSet() {
    String message = refusal(() -> LlmEndpoint.fromEnvironment(Map.of("KFARM_LLM_BASE_URL", "http://h:8000/v1")));
    assertTrue(message.startsWith("KFARM_LLM_MODEL must be set"), message);
    String badUrl = refusal(() -> LlmEndpoint.fromEnvironment(
        Map.of("KFARM_LLM_BASE_URL", "localhost:8000", "KFARM_LLM_MODEL", "m")));
    assertTrue(badUrl.startsWith("KFARM_LLM_BASE_URL: baseUrl must be http(s)"), badUrl);
  }
}
