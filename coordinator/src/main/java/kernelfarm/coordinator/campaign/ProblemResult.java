package kernelfarm.coordinator.campaign;

import java.util.List;
import java.util.Map;
import kernelfarm.protocol.CborSerializable;
import kernelfarm.protocol.Verdict;

/**
 * Where one problem of a campaign stands, or how it ended (DESIGN.md "Results"): its best correct candidate, what
 * getting there took, and what the whole search spent. A ProblemCoordinator answers it to status queries and sends
 * it to its Campaign when it finishes.
 *
 * @param finishReason null while the search runs
 * @param roundsPlanned branches times rounds
 * @param statusCounts verdicts by status, plus NO_CODE for answers without a code block
 * @param best the best verdict: the fastest correct one, else the latest; null before any verdict
 * @param bestSource the best candidate's source; null with {@code best}
 * @param bestBranch the branch (from 0) and {@code bestRound} (from 1) that produced it
 * @param secondsToBest from the problem's start to the best verdict
 * @param tokensToBest prompt and completion tokens spent by all branches until the best verdict
 * @param curve the best correct speedup over time, one point per improvement
 * @param gpuSeconds device time of every verdict (load to timing)
 * @param kernelbenchBestSpeedup the best speedup by KernelBench's rules and timing method (verdicts it calls
 *     correct, rejected by our checks or not); null when it would call none correct
 * @param kernelbenchBestVerdict the verdict behind {@code kernelbenchBestSpeedup}, which KernelBench's exports
 *     report; null with it
 */
public record ProblemResult(
    String campaignId,
    String problemId,
    String name,
    int level,
    boolean finished,
    String finishReason,
    double elapsedSeconds,
    int roundsPlanned,
    int roundsAnswered,
    int roundsJudged,
    Map<String, Integer> statusCounts,
    Verdict best,
    String bestSource,
    int bestBranch,
    int bestRound,
    double secondsToBest,
    long tokensToBest,
    List<CurvePoint> curve,
    long promptTokens,
    long completionTokens,
    double costUsd,
    double gpuSeconds,
    Double kernelbenchBestSpeedup,
    Verdict kernelbenchBestVerdict)
    implements CborSerializable {

  public ProblemResult {
    statusCounts = statusCounts == null ? Map.of() : Map.copyOf(statusCounts);
    curve = curve == null ? List.of() : List.copyOf(curve);
  }

  /** A new best correct speedup, reached {@code seconds} after the problem started. */
  public record CurvePoint(double seconds, double speedup) implements CborSerializable {}

  /** Whether the best candidate is correct. */
  public boolean correct() {
    return best != null && best.correct();
  }

  /** The best correct speedup over eager; null when nothing correct was found. */
  public Double bestSpeedup() {
    return correct() && best.timing() != null ? best.timing().speedup() : null;
  }
}
