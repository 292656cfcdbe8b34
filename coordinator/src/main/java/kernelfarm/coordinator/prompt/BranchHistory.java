package kernelfarm.coordinator.prompt;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import kernelfarm.coordinator.llm.ChatMessage;
import kernelfarm.coordinator.llm.ChatResult;

/**
 * One branch's conversation, bounded so a long run still fits the model's context. It always sends the system and
 * problem messages, then the latest {@code fullRounds} rounds whole (the model's answer, then the feedback on it),
 * and stands for each older round by its one-line digest, appended to the problem message so user and assistant
 * turns still alternate.
 *
 * <p>Reasoning never enters: a round keeps only the answer's content, since reasoning models reject or mis-read
 * their own reasoning sent back, and it is the bulk of their tokens.
 *
 * <p>To meet the character cap, the oldest full rounds become digests first, down to the latest round; then the
 * oldest digests are dropped; last, the latest answer is dropped and only its feedback kept. The system and problem
 * messages and the latest feedback are always sent whole, so a cap smaller than those is exceeded rather than
 * sending a prompt the model cannot act on. Not thread-safe: it belongs to one Branch actor.
 */
public final class BranchHistory {
  private record Round(String answer, FeedbackPrompt.Feedback feedback) {}

  private final String systemPrompt;
  private final String problemPrompt;
  private final int fullRounds;
  private final int maxChars;
  private final List<Round> rounds = new ArrayList<>();

  /**
   * @param fullRounds how many of the latest rounds are sent whole, at least 1
   * @param maxChars the most characters of content to send, summed over all messages
   */
  public BranchHistory(String systemPrompt, String problemPrompt, int fullRounds, int maxChars) {
    this.systemPrompt = Objects.requireNonNull(systemPrompt, "systemPrompt");
    this.problemPrompt = Objects.requireNonNull(problemPrompt, "problemPrompt");
    if (fullRounds < 1) {
      throw new IllegalArgumentException("fullRounds must be >= 1, got " + fullRounds);
    }
    if (maxChars < 1) {
      throw new IllegalArgumentException("maxChars must be >= 1, got " + maxChars);
    }
    this.fullRounds = fullRounds;
    this.maxChars = maxChars;
  }

  /** Records a finished round: the model's answer (its content only; the reasoning is dropped) and the feedback. */
  public void addRound(ChatResult answer, FeedbackPrompt.Feedback feedback) {
    Objects.requireNonNull(feedback, "feedback");
    // Some servers refuse an empty assistant turn; a reasoning model that ran out of tokens leaves one.
    String content = answer.content().isBlank() ? "(empty answer)" : answer.content();
    rounds.add(new Round(content, feedback));
  }

  /** Rounds recorded so far. */
  public int rounds() {
    return rounds.size();
  }

  /** What to send for the next round, within the cap where the class Javadoc says it can be. */
  public List<ChatMessage> messages() {
    int full = Math.min(fullRounds, rounds.size());
    int omitted = 0;
    List<ChatMessage> messages = build(full, omitted);
    int digests = Math.max(rounds.size() - 1, 0);
    while (chars(messages) > maxChars) {
      if (full > 1) {
        full--;
      } else if (omitted < digests) {
        omitted++;
      } else if (full == 1) {
        full = 0;
      } else {
        break;
      }
      messages = build(full, omitted);
    }
    return messages;
  }

  private List<ChatMessage> build(int full, int omitted) {
    int n = rounds.size();
    int digestEnd = Math.max(n - Math.max(full, 1), 0);
    StringBuilder first = new StringBuilder(problemPrompt);
    if (digestEnd > 0) {
      first.append("\n\nEarlier rounds, in brief (their code is no longer shown):\n");
      if (omitted > 0) {
        first.append("(").append(omitted).append(" earlier rounds omitted)\n");
      }
      for (Round round : rounds.subList(omitted, digestEnd)) {
        first.append(round.feedback().digest()).append('\n');
      }
    }
    if (full == 0 && n > 0) {
      first.append("\n\nYour latest answer is not shown, to keep this conversation short. Feedback on it:\n\n")
          .append(rounds.get(n - 1).feedback().message());
    }
    List<ChatMessage> messages = new ArrayList<>();
    messages.add(ChatMessage.system(systemPrompt));
    messages.add(ChatMessage.user(first.toString()));
    for (Round round : rounds.subList(n - full, n)) {
      messages.add(ChatMessage.assistant(round.answer()));
      messages.add(ChatMessage.user(round.feedback().message()));
    }
    return List.copyOf(messages);
  }

  private static int chars(List<ChatMessage> messages) {
    return messages.stream().mapToInt(m -> m.content().length()).sum();
  }
}
