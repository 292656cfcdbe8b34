package kernelfarm.coordinator.llm;

import java.util.List;

/**
 * One chat-completions call. The endpoint supplies the model; this holds what changes from call to call.
 *
 * @param messages the conversation so far, oldest first; at least one
 * @param temperature sampling temperature, 0 to 2
 * @param maxTokens the most completion tokens, reasoning included, sent as {@code max_tokens}; an answer that hits
 *     it ends with finish reason {@code length}, perhaps before any code
 * @param reasoningEffort {@code low}, {@code medium} or {@code high} for models that take it; null leaves the field
 *     out, because servers that do not know it may refuse the request
 * @param stream whether to ask for Server-Sent Events; some hosted reasoning endpoints close long non-streamed
 *     requests, and a streamed answer keeps the connection busy while the model thinks
 */
public record ChatRequest(
    List<ChatMessage> messages, double temperature, int maxTokens, String reasoningEffort, boolean stream) {

  public ChatRequest {
    if (messages == null || messages.isEmpty()) {
      throw new IllegalArgumentException("messages must hold at least one message; start with the user's prompt");
    }
    messages = List.copyOf(messages);
    if (!(temperature >= 0 && temperature <= 2)) {
      throw new IllegalArgumentException("temperature must be between 0 and 2, got " + temperature);
    }
    if (maxTokens < 1) {
      throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
    }
    if (reasoningEffort != null && reasoningEffort.isBlank()) {
      throw new IllegalArgumentException("reasoningEffort must be null or low, medium or high; got a blank string");
    }
  }
}
