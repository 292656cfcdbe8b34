package kernelfarm.coordinator.llm;

import java.net.URI;
import java.time.Duration;

/**
 * One OpenAI-compatible chat-completions server and how we may use it: DeepSeek-R1 on NVIDIA NIM, vLLM, SGLang,
 * Ollama, OpenAI or DeepSeek's own API. A campaign names an endpoint by {@link #name()}, never by its key.
 *
 * <p>{@code toString()} is safe to log: the key prints as {@code ***}. {@link LlmEndpoints} reads a node's endpoints
 * from the environment or an endpoints file.
 *
 * @param name short label used in logs, errors and campaign specs, e.g. {@code nim-r1}
 * @param baseUrl the API root that {@code /chat/completions} is appended to, e.g. {@code http://host:8000/v1}; a
 *     trailing slash is dropped
 * @param model the model name the server serves, sent as {@code model}
 * @param apiKey sent as {@code Authorization: Bearer}; null for servers that need none (Ollama, a local vLLM)
 * @param maxConcurrency requests this process has in flight at once; more wait in a FIFO queue. Reasoning answers
 *     take minutes, so the configured default is {@link LlmEndpoints#DEFAULT_MAX_CONCURRENCY}
 * @param requestTimeout the limit on one attempt, from sending to the last byte of the answer (streamed or not)
 * @param maxRetries further attempts after a 429, a 5xx, a connection error or a timeout; 0 never retries
 * @param pricePerMillionInputTokens USD per million prompt tokens; 0 if unknown (cost then reads 0)
 * @param pricePerMillionOutputTokens USD per million completion tokens, reasoning included; 0 if unknown
 */
public record LlmEndpoint(
    String name,
    URI baseUrl,
    String model,
    Secret apiKey,
    int maxConcurrency,
    Duration requestTimeout,
    int maxRetries,
    double pricePerMillionInputTokens,
    double pricePerMillionOutputTokens) {

  private static final String URL_EXAMPLE = "write e.g. http://localhost:8000/v1";

  public LlmEndpoint {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("name must not be blank; write a short label such as \"nim-r1\"");
    }
    baseUrl = checkedBaseUrl(baseUrl);
    if (model == null || model.isBlank()) {
      throw new IllegalArgumentException(
          "model must not be blank; write the served model's name, e.g. \"deepseek-ai/deepseek-r1\"");
    }
    if (maxConcurrency < 1) {
      throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency
          + "; write how many requests the endpoint may have in flight at once");
    }
    if (requestTimeout == null || requestTimeout.isZero() || requestTimeout.isNegative()) {
      throw new IllegalArgumentException("requestTimeout must be positive, got " + requestTimeout
          + "; write e.g. PT15M (a long reasoning answer takes minutes)");
    }
    if (maxRetries < 0) {
      throw new IllegalArgumentException("maxRetries must be >= 0, got " + maxRetries + "; write 0 to never retry");
    }
    checkPrice(pricePerMillionInputTokens, "pricePerMillionInputTokens");
    checkPrice(pricePerMillionOutputTokens, "pricePerMillionOutputTokens");
  }

  /** {@code POST} target of every call. */
  URI chatCompletions() {
    return URI.create(baseUrl + "/chat/completions");
  }

  private static URI checkedBaseUrl(URI url) {
    if (url == null) {
      throw new IllegalArgumentException("baseUrl must not be null; " + URL_EXAMPLE);
    }
    // Checked first, and never echoed: a key pasted into the URL must not reach an error message.
    if (url.getRawUserInfo() != null) {
      throw new IllegalArgumentException("baseUrl must not carry credentials; set the key as apiKey "
          + "(KFARM_LLM_API_KEY, or a file's apiKeyEnv) and " + URL_EXAMPLE);
    }
    String scheme = url.getScheme();
    if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
      throw new IllegalArgumentException("baseUrl must be http(s), got \"" + url + "\"; " + URL_EXAMPLE);
    }
    if (url.getHost() == null) {
      throw new IllegalArgumentException("baseUrl must name a host, got \"" + url + "\"; " + URL_EXAMPLE);
    }
    if (url.getRawQuery() != null || url.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "baseUrl must not have a query or fragment, got \"" + url + "\"; " + URL_EXAMPLE);
    }
    String text = url.toString();
    return text.endsWith("/") ? URI.create(text.replaceAll("/+$", "")) : url;
  }

  private static void checkPrice(double price, String field) {
    if (!(price >= 0) || Double.isInfinite(price)) {
      throw new IllegalArgumentException(field + " must be >= 0 and finite, got " + price + "; write 0 when unknown");
    }
  }
}
