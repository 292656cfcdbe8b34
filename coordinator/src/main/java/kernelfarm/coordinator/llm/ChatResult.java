package kernelfarm.coordinator.llm;

import java.time.Duration;
import java.util.Objects;

/**
 * An LLM's answer with its reasoning kept apart, and what it cost.
 *
 * @param content the answer without any reasoning; {@code <think>} blocks are moved to {@code reasoning}. May be
 *     empty: a reasoning model that hits {@code maxTokens} while thinking never answers
 * @param reasoning the server's {@code reasoning_content} followed by any {@code <think>} blocks; empty when none
 * @param promptTokens as the server reported; 0 when it reported no usage
 * @param completionTokens as the server reported, reasoning included (OpenAI's convention)
 * @param reasoningTokens the part of {@code completionTokens} spent reasoning, where the server says so; else 0
 * @param costUsd tokens times the endpoint's prices; 0 when prices or usage are unknown
 * @param latency from sending the first attempt to the last byte of the answer, backoff included
 * @param attempts 1 unless retries were needed
 * @param finishReason {@code stop}, {@code length}, ...; empty when the server sent none
 * @param endpoint the name of the endpoint that answered (a campaign may spread its calls over several)
 */
public record ChatResult(
    String content,
    String reasoning,
    int promptTokens,
    int completionTokens,
    int reasoningTokens,
    double costUsd,
    Duration latency,
    int attempts,
    String finishReason,
    String endpoint) {

  public ChatResult {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(content, "content");
    Objects.requireNonNull(reasoning, "reasoning");
    Objects.requireNonNull(latency, "latency");
    Objects.requireNonNull(finishReason, "finishReason");
    if (promptTokens < 0 || completionTokens < 0 || reasoningTokens < 0) {
      throw new IllegalArgumentException("token counts must be >= 0, got " + promptTokens + ", " + completionTokens
          + ", " + reasoningTokens);
    }
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be >= 1, got " + attempts);
    }
  }
}
