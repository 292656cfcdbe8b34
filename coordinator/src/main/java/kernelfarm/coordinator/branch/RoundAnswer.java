package kernelfarm.coordinator.branch;

import java.time.Duration;
import java.util.Objects;
import kernelfarm.coordinator.llm.ChatResult;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.CborSerializable;

/**
 * What one round of a branch asked and got back from its LLM, as persisted by the ProblemCoordinator: enough to
 * rebuild the branch's conversation after a restart without asking the model again.
 *
 * @param endpoint the LLM endpoint's name (never its key)
 * @param prompt the last user message sent: the problem (round 1) or the feedback on the previous round
 * @param content the answer without reasoning
 * @param reasoning the model's reasoning, kept apart and never sent back
 * @param candidate the code block extracted from the answer; null when the answer had none
 * @param latencyMillis from the request to the last byte of the answer, retries included
 */
public record RoundAnswer(
    String endpoint,
    String prompt,
    String content,
    String reasoning,
    Candidate candidate,
    int promptTokens,
    int completionTokens,
    int reasoningTokens,
    double costUsd,
    long latencyMillis,
    String finishReason)
    implements CborSerializable {

  public RoundAnswer {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(content, "content");
    Objects.requireNonNull(reasoning, "reasoning");
    Objects.requireNonNull(finishReason, "finishReason");
  }

  static RoundAnswer of(String endpoint, String prompt, ChatResult result, Candidate candidate) {
    return new RoundAnswer(endpoint, prompt, result.content(), result.reasoning(), candidate, result.promptTokens(),
        result.completionTokens(), result.reasoningTokens(), result.costUsd(), result.latency().toMillis(),
        result.finishReason());
  }

  /** The answer as the conversation history holds it. */
  ChatResult asChatResult() {
    return new ChatResult(content, reasoning, promptTokens, completionTokens, reasoningTokens, costUsd,
        Duration.ofMillis(latencyMillis), 1, finishReason, endpoint);
  }
}
