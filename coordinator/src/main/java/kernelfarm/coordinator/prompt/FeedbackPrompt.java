package kernelfarm.coordinator.prompt;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import kernelfarm.coordinator.prompt.PromptTemplates.Template;
import kernelfarm.protocol.Check;
import kernelfarm.protocol.CheckOutcome;
import kernelfarm.protocol.Correctness;
import kernelfarm.protocol.Mismatch;
import kernelfarm.protocol.Timing;
import kernelfarm.protocol.Verdict;

/**
 * Turns a verdict into the user message of the branch's next round, and into the one-line digest that
 * {@link BranchHistory} keeps once the round is old. A verdict missing a part its template quotes (a CORRECT one
 * without timing) still gives feedback, with the value written as {@code not measured}: a verdict is data, never a
 * reason to stop the branch.
 */
public final class FeedbackPrompt {
  // A digest is one line of the history; a summary's first line can be a whole compiler error.
  private static final int DIGEST_DETAIL_CHARS = 160;

  /**
   * What one round's feedback says.
   *
   * @param message the user message for the next round
   * @param digest one line standing for the whole round once it is old, such as
   *     {@code round 3: INCORRECT — trial 0, index [2, 5]: expected 0.1, got 0.3}
   */
  public record Feedback(String message, String digest) {
    public Feedback {
      Objects.requireNonNull(message, "message");
      Objects.requireNonNull(digest, "digest");
    }
  }

  private final PromptTemplates templates;

  public FeedbackPrompt(PromptTemplates templates) {
    this.templates = templates;
  }

  /**
   * Feedback on a verdict.
   *
   * @param round the round the verdict judged, from 1
   * @param bestSpeedup the branch's best correct speedup so far, or null if it has no correct candidate yet
   */
  public Feedback forVerdict(Verdict verdict, int round, Double bestSpeedup) {
    Template template = templateFor(verdict);
    Map<String, String> values = common(round, bestSpeedup);
    values.put("summary", verdict.summary().isBlank() ? "(the verifier gave no summary)" : verdict.summary());
    values.put("stage", verdict.stage().isBlank() ? "unknown" : verdict.stage());
    Correctness correctness = verdict.correctness();
    values.put("first_mismatch", firstMismatch(verdict));
    values.put("trials_passed", correctness == null ? "0" : Integer.toString(correctness.passed()));
    values.put("trials", correctness == null ? "0" : Integer.toString(correctness.trials()));
    values.put("max_abs_error", correctness == null || correctness.maxAbsError() == null
        ? "not computed" : number(correctness.maxAbsError()));
    Check failed = firstFailedCheck(verdict);
    values.put("check", failed == null ? "not named" : failed.name());
    values.put("check_detail", failed == null || failed.detail().isBlank() ? "no detail given" : failed.detail());
    Timing timing = verdict.timing();
    values.put("speedup", speedup(timing == null ? null : timing.speedup()));
    values.put("candidate_ms", timing == null ? "not measured" : millis(timing.candidate().medianMs()));
    values.put("reference_ms", timing == null ? "not measured" : millis(timing.reference().medianMs()));
    String digest = "round " + round + ": " + verdict.status() + " — " + headline(verdict, values);
    return new Feedback(templates.render(template, values), digest);
  }

  /** Feedback when the model's answer had no code block, so there was nothing to verify. */
  public Feedback forNoCode(int round, Double bestSpeedup) {
    return new Feedback(templates.render(Template.NO_CODE, common(round, bestSpeedup)),
        "round " + round + ": NO_CODE — the answer had no code block");
  }

  /** The template for a verdict: its status's, with CORRECT split on whether it beat the reference. */
  static Template templateFor(Verdict verdict) {
    return switch (verdict.status()) {
      case COMPILE_ERROR -> Template.COMPILE_ERROR;
      case RUNTIME_ERROR -> Template.RUNTIME_ERROR;
      case TIMEOUT -> Template.TIMEOUT;
      case INCORRECT -> Template.INCORRECT;
      case REJECTED -> Template.REJECTED;
      case CORRECT -> {
        Double speedup = verdict.timing() == null ? null : verdict.timing().speedup();
        yield speedup != null && speedup > 1.0 ? Template.CORRECT_FASTER : Template.CORRECT_SLOWER;
      }
    };
  }

  private static Map<String, String> common(int round, Double bestSpeedup) {
    if (round < 1) {
      throw new IllegalArgumentException("round must be >= 1, got " + round);
    }
    Map<String, String> values = new HashMap<>();
    values.put("round", Integer.toString(round));
    values.put("best_speedup", bestSpeedup == null ? "none yet" : speedup(bestSpeedup));
    return values;
  }

  private static String headline(Verdict verdict, Map<String, String> values) {
    String detail = switch (verdict.status()) {
      case INCORRECT -> verdict.correctness() != null && verdict.correctness().firstMismatch() != null
          ? values.get("first_mismatch") : firstLine(verdict.summary());
      case REJECTED -> values.get("check") + ": " + values.get("check_detail");
      case CORRECT -> "speedup " + values.get("speedup") + " (" + values.get("candidate_ms") + " against "
          + values.get("reference_ms") + ")";
      default -> firstLine(verdict.summary());
    };
    String line = detail.replaceAll("\\s+", " ").strip();
    return line.length() <= DIGEST_DETAIL_CHARS ? line : line.substring(0, DIGEST_DETAIL_CHARS - 3) + "...";
  }

  private static String firstMismatch(Verdict verdict) {
    Mismatch m = verdict.correctness() == null ? null : verdict.correctness().firstMismatch();
    if (m == null) {
      return "not reported";
    }
    String where = m.index() != null ? "index " + m.index() : m.kind();
    return "trial " + m.trial() + ", " + where + ": expected " + m.expected() + ", got " + m.actual();
  }

  private static Check firstFailedCheck(Verdict verdict) {
    return verdict.checks().stream().filter(c -> c.outcome() == CheckOutcome.FAILED).findFirst().orElse(null);
  }

  private static String firstLine(String text) {
    return text.strip().lines().findFirst().orElse("(no summary)");
  }

  private static String speedup(Double speedup) {
    return speedup == null ? "not measured" : String.format(Locale.ROOT, "%.2fx", speedup);
  }

  private static String millis(double ms) {
    return String.format(Locale.ROOT, "%.3f ms", ms);
  }

  private static String number(double value) {
    return String.format(Locale.ROOT, "%.4g", value);
  }
}
