package kernelfarm.coordinator.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import kernelfarm.coordinator.prompt.FeedbackPrompt.Feedback;
import kernelfarm.coordinator.prompt.PromptTemplates.Template;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** FeedbackPrompt over the real templates: each status's numbers and summary reach the message. */
class PromptFeedbackTest {
  private final FeedbackPrompt feedback = new FeedbackPrompt(PromptTemplates.load(PromptTemplatesTest.REAL));

  @ParameterizedTest
  @EnumSource(value = Status.class, names = {"COMPILE_ERROR", "RUNTIME_ERROR", "TIMEOUT"})
  void failureQuotesSummaryStageRoundAndBest(Status status) {
    Verdict verdict = Verdicts.failed(status, "stage-" + status.ordinal(),
        "kernel.cu(12): error: identifier \"blockDimx\" is undefined");
    Feedback fb = feedback.forVerdict(verdict, 7, 1.375);
    assertRendered(fb.message(), verdict.summary(), "Round 7", "stage-" + status.ordinal(), "1.38x");
    assertEquals("round 7: " + status + " — kernel.cu(12): error: identifier \"blockDimx\" is undefined",
        fb.digest());
  }

  @Test
  void incorrectQuotesFirstMismatchAndTrials() {
    Feedback fb = feedback.forVerdict(Verdicts.incorrect(), 3, null);
    assertRendered(fb.message(), Verdicts.incorrect().summary(),
        "trial 3, index [2, 5]: expected 0.1, got 0.3", "2 of 5", "0.2071", "none yet");
    assertEquals("round 3: INCORRECT — trial 3, index [2, 5]: expected 0.1, got 0.3", fb.digest());
  }

  @Test
  void rejectedQuotesTheFirstFailedCheck() {
    Feedback fb = feedback.forVerdict(Verdicts.rejected(), 2, null);
    assertRendered(fb.message(), Verdicts.rejected().summary(),
        "`result-caching`", "same output object for different inputs");
    assertFalse(fb.message().contains("decoy-kernel"), "only the first failed check: " + fb.message());
    assertFalse(fb.message().contains("timer-untouched"), "a passed check is not blamed: " + fb.message());
    assertEquals("round 2: REJECTED — result-caching: same output object for different inputs", fb.digest());
  }

  @Test
  void fasterCorrectQuotesTimingsAndSpeedup() {
    Verdict verdict = Verdicts.correct(3.085, 1.234);
    assertEquals(Template.CORRECT_FASTER, FeedbackPrompt.templateFor(verdict));
    Feedback fb = feedback.forVerdict(verdict, 4, 2.5);
    assertRendered(fb.message(), verdict.summary(), "1.234 ms", "3.085 ms", "2.50x", "faster");
    assertEquals("round 4: CORRECT — speedup 2.50x (1.234 ms against 3.085 ms)", fb.digest());
  }

  @Test
  void correctAtExactlyOneIsSlower() {
    Verdict verdict = Verdicts.correct(1.5, 1.5);
    assertEquals(Template.CORRECT_SLOWER, FeedbackPrompt.templateFor(verdict));
    Feedback fb = feedback.forVerdict(verdict, 1, null);
    assertRendered(fb.message(), verdict.summary(), "1.500 ms", "1.00x", "not faster");
  }

  @Test
  void noCodeSaysNothingRan() {
    Feedback fb = feedback.forNoCode(9, 1.1);
    assertRendered(fb.message(), "no ```python code block", "Round 9", "1.10x");
    assertEquals("round 9: NO_CODE — the answer had no code block", fb.digest());
  }

  @Test
  void longSummaryIsCutToOneDigestLine() {
    String summary = "x".repeat(500) + "\nsecond line";
    Feedback fb = feedback.forVerdict(Verdicts.failed(Status.RUNTIME_ERROR, "load", summary), 1, null);
    assertTrue(fb.message().contains(summary));
    assertFalse(fb.digest().contains("\n") || fb.digest().contains("second line"), fb.digest());
    assertTrue(fb.digest().length() < 200, fb.digest());
  }

  private static void assertRendered(String message, String... expected) {
    for (String part : List.of(expected)) {
      assertTrue(message.contains(part), "missing \"" + part + "\" in:\n" + message);
    }
    assertFalse(message.contains("{{") || message.contains("}}"), message);
  }
}
