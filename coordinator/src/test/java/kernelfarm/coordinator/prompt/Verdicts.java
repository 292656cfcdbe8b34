package kernelfarm.coordinator.prompt;

import java.util.List;
import java.util.Map;
import kernelfarm.protocol.CandidateId;
import kernelfarm.protocol.Check;
import kernelfarm.protocol.CheckOutcome;
import kernelfarm.protocol.Correctness;
import kernelfarm.protocol.Mismatch;
import kernelfarm.protocol.Stats;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Timing;
import kernelfarm.protocol.Verdict;

/** Verdicts of every status, built directly, with numbers distinct enough to find in a rendered prompt. */
final class Verdicts {
  private Verdicts() {}

  static Verdict failed(Status status, String stage, String summary) {
    return new Verdict(new CandidateId("c-" + status.name().toLowerCase()), "level1/19_ReLU", status, stage,
        Map.of(), null, null, List.of(), null, null, null, summary, List.of());
  }

  static Verdict incorrect() {
    Correctness correctness = new Correctness(5, 2, 0.2071, 0.75, 1e-2, 1e-2,
        new Mismatch(3, "value", List.of(2L, 5L), "0.1", "0.3"), null);
    return new Verdict(new CandidateId("c-incorrect"), "level1/19_ReLU", Status.INCORRECT, "correctness", Map.of(),
        correctness, null, List.of(), null, null, null, "trial 3: max abs err 0.2071 > atol 0.01", List.of());
  }

  static Verdict rejected() {
    List<Check> checks = List.of(
        new Check("timer-untouched", CheckOutcome.PASSED, ""),
        new Check("result-caching", CheckOutcome.FAILED, "same output object for different inputs"),
        new Check("decoy-kernel", CheckOutcome.FAILED, "kernel relu_kernel never launched"));
    return new Verdict(new CandidateId("c-rejected"), "level1/19_ReLU", Status.REJECTED, "anti-cheat", Map.of(),
        null, null, checks, null, null, null, "rejected: result caching detected", List.of());
  }

  static Verdict correct(double referenceMs, double candidateMs) {
    Timing timing = new Timing("cuda-events", stats(referenceMs), stats(candidateMs), referenceMs / candidateMs,
        "eager");
    return new Verdict(new CandidateId("c-correct"), "level1/19_ReLU", Status.CORRECT, "timing", Map.of(), null,
        timing, List.of(), null, null, null, "correct; median 1 ms against 2 ms", List.of());
  }

  private static Stats stats(double medianMs) {
    return new Stats(medianMs, medianMs, 0.01, medianMs, medianMs, 100, null);
  }
}
