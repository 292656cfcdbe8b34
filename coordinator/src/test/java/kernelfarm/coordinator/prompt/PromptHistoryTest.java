package kernelfarm.coordinator.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import kernelfarm.coordinator.llm.ChatMessage;
import kernelfarm.coordinator.llm.ChatResult;
import kernelfarm.coordinator.prompt.FeedbackPrompt.Feedback;
import org.junit.jupiter.api.Test;

/** BranchHistory keeps the latest rounds whole, digests older ones, never resends reasoning, and meets its cap. */
class PromptHistoryTest {
  private static final int UNCAPPED = 1_000_000;

  @Test
  void keepsLatestRoundsWholeAndDigestsOlderOnes() {
    BranchHistory history = history(2, UNCAPPED, 5);
    List<ChatMessage> messages = history.messages();
    assertEquals(List.of("system", "user", "assistant", "user", "assistant", "user"), roles(messages));
    assertTrue(messages.get(2).content().startsWith("answer 4 "));
    assertEquals("feedback 4", messages.get(3).content());
    assertTrue(messages.get(4).content().startsWith("answer 5 "));
    assertEquals("feedback 5", messages.get(5).content());
    String first = messages.get(1).content();
    assertTrue(first.startsWith("PROBLEM"), first);
    for (int round = 1; round <= 3; round++) {
      assertTrue(first.contains("round " + round + ": INCORRECT — trial 0, index [2, 5]"), first);
    }
    assertFalse(first.contains("round 4:"), "a full round is not digested too: " + first);
    assertFalse(all(messages).contains("answer 3") || all(messages).contains("feedback 3"), all(messages));
  }

  @Test
  void fewerRoundsThanKAreAllWholeWithoutDigests() {
    List<ChatMessage> messages = history(3, UNCAPPED, 2).messages();
    assertEquals(6, messages.size());
    assertEquals("PROBLEM", messages.get(1).content());
    assertEquals(List.of(ChatMessage.system("SYSTEM"), ChatMessage.user("PROBLEM")),
        new BranchHistory("SYSTEM", "PROBLEM", 3, UNCAPPED).messages());
  }

  @Test
  void reasoningIsNeverSent() {
    BranchHistory history = history(3, UNCAPPED, 4);
    String sent = all(history.messages());
    assertTrue(sent.contains("answer 4"), sent);
    assertFalse(sent.contains("REASONING"), sent);
  }

  @Test
  void capDigestsOldestFullRoundsFirst() {
    BranchHistory uncapped = history(3, UNCAPPED, 4);
    int whole = chars(uncapped.messages());
    // One character short: the oldest of the three full rounds must become a digest, and that is enough.
    int cap = whole - 1;
    BranchHistory history = history(3, cap, 4);
    List<ChatMessage> messages = history.messages();
    assertTrue(chars(messages) <= cap, chars(messages) + " > " + cap);
    assertEquals(List.of("system", "user", "assistant", "user", "assistant", "user"), roles(messages));
    assertTrue(messages.get(2).content().startsWith("answer 3 "));
    assertTrue(messages.get(1).content().contains("round 2: INCORRECT"), messages.get(1).content());
  }

  @Test
  void tightCapKeepsSystemProblemAndLatestFeedback() {
    BranchHistory history = history(3, 600, 30);
    List<ChatMessage> messages = history.messages();
    assertTrue(chars(messages) <= 600, chars(messages) + " chars");
    assertEquals("SYSTEM", messages.get(0).content());
    String sent = all(messages);
    assertTrue(sent.contains("PROBLEM"), sent);
    assertTrue(sent.contains("feedback 30"), "the model must see the latest feedback: " + sent);
    assertTrue(sent.contains("earlier rounds omitted"), sent);
  }

  private static BranchHistory history(int fullRounds, int maxChars, int rounds) {
    BranchHistory history = new BranchHistory("SYSTEM", "PROBLEM", fullRounds, maxChars);
    for (int round = 1; round <= rounds; round++) {
      // Answers outweigh a digest line, as real code does; reasoning outweighs everything, as it really does.
      ChatResult answer = new ChatResult("answer " + round + " " + "a".repeat(300),
          "REASONING " + round + " " + "r".repeat(2000), 10, 500, 400, 0, Duration.ofSeconds(1), 1, "stop", "fake");
      history.addRound(answer, new Feedback("feedback " + round,
          "round " + round + ": INCORRECT — trial 0, index [2, 5]: expected 0.1, got 0.3"));
    }
    return history;
  }

  private static List<String> roles(List<ChatMessage> messages) {
    return messages.stream().map(ChatMessage::role).toList();
  }

  private static String all(List<ChatMessage> messages) {
    return String.join("\n", messages.stream().map(ChatMessage::content).toList());
  }

  private static int chars(List<ChatMessage> messages) {
    return messages.stream().mapToInt(m -> m.content().length()).sum();
  }
}
