package kernelfarm.coordinator.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import kernelfarm.coordinator.campaign.FieldError;
import kernelfarm.coordinator.campaign.SpecException;
import kernelfarm.protocol.Redaction;
import org.junit.jupiter.api.Test;

/** Endpoint validation, and the environment variables and endpoints file that describe a node's endpoints. */
class LlmEndpointTest {
  private final ObjectMapper json = new ObjectMapper();

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
    assertEquals(List.of(), LlmEndpoints.fromEnvironment(Map.of("KFARM_LLM_MODEL", "m")));
  }

  @Test
  void environmentDescribesTheDefaultEndpointSizedForReasoningModels() {
    LlmEndpoint nim = LlmEndpoints.fromEnvironment(Map.of(
        "KFARM_LLM_BASE_URL", "https://integrate.api.nvidia.com/v1",
        "KFARM_LLM_MODEL", "deepseek-ai/deepseek-r1",
        "KFARM_LLM_API_KEY", "nvapi-secret")).get(0);
    LlmEndpoint ollama = LlmEndpoints.fromEnvironment(Map.of(
        "KFARM_LLM_BASE_URL", "http://localhost:11434/v1", "KFARM_LLM_MODEL", "qwen2.5-coder")).get(0);

    assertEquals("default", nim.name());
    assertEquals("nvapi-secret", nim.apiKey().reveal());
    assertEquals("deepseek-ai/deepseek-r1", nim.model());
    assertEquals(64, nim.maxConcurrency());
    assertNull(ollama.apiKey());
  }

  @Test
  void environmentListsDescribeSeveralEndpointsWithTheirOwnConcurrency() {
    List<LlmEndpoint> endpoints = LlmEndpoints.fromEnvironment(Map.of(
        "KFARM_LLM_BASE_URL", "http://gpu-a:8000/v1, http://gpu-b:8000/v1",
        "KFARM_LLM_MODEL", "deepseek-ai/DeepSeek-R1",
        "KFARM_LLM_API_KEY", "key-for-a-123,",
        "KFARM_LLM_MAX_CONCURRENCY", "128,16"));

    assertEquals(List.of("llm-1", "llm-2"), endpoints.stream().map(LlmEndpoint::name).toList());
    assertEquals(URI.create("http://gpu-b:8000/v1"), endpoints.get(1).baseUrl());
    assertEquals("deepseek-ai/DeepSeek-R1", endpoints.get(1).model(), "one model applies to every URL");
    assertEquals("key-for-a-123", endpoints.get(0).apiKey().reveal());
    assertNull(endpoints.get(1).apiKey(), "an empty entry is a server with no key");
    assertFalse(Redaction.scrub("candidate printed key-for-a-123").contains("key-for-a-123"),
        "each key of a list is redacted on its own, not only the variable's whole value");
    assertEquals(List.of(128, 16), endpoints.stream().map(LlmEndpoint::maxConcurrency).toList());
    assertEquals(List.of(7, 7), LlmEndpoints.withMaxConcurrency(endpoints, 7).stream()
        .map(LlmEndpoint::maxConcurrency).toList(), "--llm-concurrency sets every endpoint's limit");
  }

  @Test
  void badEnvironmentEntriesNameTheVariableTheEntryAndTheFix() {
    String message = refusal(() -> LlmEndpoints.fromEnvironment(Map.of("KFARM_LLM_BASE_URL", "http://h:8000/v1")));
    assertTrue(message.startsWith("KFARM_LLM_MODEL: must be set when KFARM_LLM_BASE_URL is; write"), message);
    String badUrl = refusal(() -> LlmEndpoints.fromEnvironment(
        Map.of("KFARM_LLM_BASE_URL", "http://ok:8000/v1,localhost:8000", "KFARM_LLM_MODEL", "m")));
    assertTrue(badUrl.startsWith("KFARM_LLM_BASE_URL[1]: baseUrl must be http(s)"), badUrl);
    assertTrue(badUrl.contains("; write e.g. http://localhost:8000/v1"), badUrl);
    SpecException counts = assertThrows(SpecException.class, () -> LlmEndpoints.fromEnvironment(Map.of(
        "KFARM_LLM_BASE_URL", "http://a/v1,http://b/v1,http://c/v1", "KFARM_LLM_MODEL", "m",
        "KFARM_LLM_MAX_CONCURRENCY", "8,x,0")));
    assertEquals(List.of("KFARM_LLM_MAX_CONCURRENCY[1]", "KFARM_LLM_MAX_CONCURRENCY[2]"),
        counts.errors().stream().map(FieldError::field).toList());
    SpecException mismatch = assertThrows(SpecException.class, () -> LlmEndpoints.fromEnvironment(Map.of(
        "KFARM_LLM_BASE_URL", "http://a/v1,http://b/v1,http://c/v1", "KFARM_LLM_MODEL", "m1,m2")));
    assertEquals("KFARM_LLM_MODEL", mismatch.errors().get(0).field());
    assertTrue(mismatch.errors().get(0).fix().contains("one per URL"), mismatch.getMessage());
  }

  @Test
  void endpointsFileGivesEachEndpointItsLimitAndTakesKeysFromTheEnvironmentOnly() {
    String file = """
        {"endpoints": [
          {"name": "nim-r1", "baseUrl": "https://integrate.api.nvidia.com/v1", "model": "deepseek-ai/deepseek-r1",
           "apiKeyEnv": "NIM_KEY", "maxConcurrency": 200, "requestTimeout": "PT20M", "maxRetries": 2,
           "pricePerMillionInputTokens": 0.55, "pricePerMillionOutputTokens": 2.19},
          {"name": "local", "baseUrl": "http://gpu-box:8000/v1", "model": "r1"}
        ]}""";
    List<LlmEndpoint> endpoints = LlmEndpoints.parse(json, file, Map.of("NIM_KEY", "nvapi-file-secret-1"));

    assertEquals(2, endpoints.size());
    LlmEndpoint nim = endpoints.get(0);
    assertEquals(200, nim.maxConcurrency());
    assertEquals(Duration.ofMinutes(20), nim.requestTimeout());
    assertEquals(2, nim.maxRetries());
    assertEquals("nvapi-file-secret-1", nim.apiKey().reveal());
    assertEquals(64, endpoints.get(1).maxConcurrency(), "the default is sized for reasoning models");
    assertTrue(!nim.toString().contains("nvapi-file-secret-1"), nim.toString());
  }

  @Test
  void malformedEndpointEntriesAreEachNamedWithTheirFix() {
    String file = """
        {"endpoints": [
          {"name": "a", "baseUrl": "http://a:8000/v1", "model": "m", "apiKey": "sk-never-in-a-file-0000000000"},
          {"name": "a", "baseUrl": "ftp://b", "model": "", "maxConcurrency": 0, "apiKeyEnv": "UNSET_KEY",
           "requestTimeout": "15 minutes", "maxConcurency": 4}
        ]}""";
    SpecException e = assertThrows(SpecException.class, () -> LlmEndpoints.parse(json, file, Map.of()));
    List<String> fields = e.errors().stream().map(FieldError::field).toList();
    assertEquals(List.of("endpoints[0].apiKey", "endpoints[1].maxConcurency", "endpoints[1].name",
        "endpoints[1].model", "endpoints[1].apiKeyEnv", "endpoints[1].maxConcurrency",
        "endpoints[1].requestTimeout"), fields, e.getMessage());
    assertTrue(e.getMessage().contains("endpoints[0].apiKey: a key never goes in a file; put the key in an "
        + "environment variable"), e.getMessage());
    assertTrue(!e.getMessage().contains("sk-never-in-a-file"), "the key is never repeated: " + e.getMessage());
    SpecException scheme = assertThrows(SpecException.class, () -> LlmEndpoints.parse(json,
        "{\"endpoints\": [{\"name\": \"b\", \"baseUrl\": \"ftp://b\", \"model\": \"m\"}]}", Map.of()));
    assertEquals("endpoints[0]", scheme.errors().get(0).field());
    assertTrue(scheme.errors().get(0).problem().startsWith("baseUrl must be http(s)"), scheme.getMessage());
    SpecException notJson = assertThrows(SpecException.class, () -> LlmEndpoints.parse(json, "{\"endpoints\": [", Map.of()));
    assertTrue(notJson.getMessage().startsWith("endpoints file: is not valid JSON at line 1"), notJson.getMessage());
  }
}
