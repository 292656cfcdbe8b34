package kernelfarm.coordinator.llm;

import java.util.Set;

/**
 * One turn of a conversation, as the OpenAI protocol sends it.
 *
 * @param role {@code system}, {@code developer}, {@code user} or {@code assistant}
 * @param content the text; may be empty, never null
 */
public record ChatMessage(String role, String content) {
  private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");

  public ChatMessage {
    if (role == null || !ROLES.contains(role)) {
      throw new IllegalArgumentException(
          "role must be system, developer, user or assistant, got " + (role == null ? "null" : "\"" + role + "\""));
    }
    if (content == null) {
      throw new IllegalArgumentException("content must not be null; send \"\" for an empty turn");
    }
  }

  public static ChatMessage system(String content) {
    return new ChatMessage("system", content);
  }

  public static ChatMessage user(String content) {
    return new ChatMessage("user", content);
  }

  /**
   * An earlier answer sent back as history. Send its content only: reasoning models reject or mis-read their own
   * reasoning when it comes back in the conversation.
   */
  public static ChatMessage assistant(String content) {
    return new ChatMessage("assistant", content);
  }
}
