package kernelfarm.coordinator.problem;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kernelfarm.coordinator.branch.RoundAnswer;
import kernelfarm.coordinator.campaign.ProblemResult;
import kernelfarm.protocol.CborSerializable;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Verdict;
import kernelfarm.worker.sandbox.HarnessNames;

/**
 * A problem's score, kept up to date event by event: the one scoring rule that the ProblemCoordinator (its state)
 * and the read side (its problems table) share, so a status query and a table row never disagree. Immutable; each
 * event gives a new tally. Events must come in the order they were persisted, which both the entity's recovery and
 * {@code eventsByTag} for one entity guarantee.
 *
 * <p>The best round is the fastest correct one; while nothing is correct, the latest verdict stands for the problem.
 * Ties go to the round judged first.
 *
 * @param tokensSoFar prompt and completion tokens of every round answered so far
 * @param bestJudgedAt when the best verdict arrived; null with {@code best}
 * @param kernelbenchBest the best speedup among verdicts KernelBench's rules call correct (its own timing
 *     method); null while there is none
 * @param kernelbenchBestVerdict the verdict behind {@code kernelbenchBest}: what a KernelBench export reports
 */
public record ProblemTally(
    String campaignId,
    String problemId,
    String name,
    int level,
    int roundsPlanned,
    Instant startedAt,
    String finishReason,
    Instant finishedAt,
    int answered,
    int judged,
    Map<String, Integer> statusCounts,
    long promptTokens,
    long completionTokens,
    double costUsd,
    double gpuSeconds,
    Verdict best,
    String bestSource,
    int bestBranch,
    int bestRound,
    Instant bestJudgedAt,
    long tokensToBest,
    long tokensSoFar,
    List<ProblemResult.CurvePoint> curve,
    Double kernelbenchBest,
    Verdict kernelbenchBestVerdict)
    implements CborSerializable {

  public ProblemTally {
    statusCounts = statusCounts == null ? Map.of() : Map.copyOf(statusCounts);
    curve = curve == null ? List.of() : List.copyOf(curve);
  }

  /** The status count key of an answer that held no code block. */
  public static final String NO_CODE = "NO_CODE";

  /** Before the problem started. */
  public static ProblemTally empty() {
    return new ProblemTally(null, null, null, 0, 0, null, null, null, 0, 0, Map.of(), 0, 0, 0, 0, null, null, -1, -1,
        null, 0, 0, List.of(), null, null);
  }

  public boolean started() {
    return problemId != null;
  }

  public boolean finished() {
    return finishReason != null;
  }

  public ProblemTally started(String campaignId, Problem problem, int roundsPlanned, Instant at) {
    return new ProblemTally(campaignId, problem.id(), problem.name(), problem.level(), roundsPlanned, at, null, null,
        0, 0, Map.of(), 0, 0, 0, 0, null, null, -1, -1, null, 0, 0, List.of(), null, null);
  }

  /** A round answered; an answer without code counts as {@link #NO_CODE} at once, as it will get no verdict. */
  public ProblemTally answered(RoundAnswer answer) {
    Map<String, Integer> counts = statusCounts;
    if (answer.candidate() == null) {
      counts = new LinkedHashMap<>(statusCounts);
      counts.merge(NO_CODE, 1, Integer::sum);
    }
    return new ProblemTally(campaignId, problemId, name, level, roundsPlanned, startedAt, finishReason, finishedAt,
        answered + 1, judged, counts, promptTokens + answer.promptTokens(),
        completionTokens + answer.completionTokens(), costUsd + answer.costUsd(), gpuSeconds, best, bestSource,
        bestBranch, bestRound, bestJudgedAt, tokensToBest,
        tokensSoFar + answer.promptTokens() + answer.completionTokens(), curve, kernelbenchBest,
        kernelbenchBestVerdict);
  }

  /**
   * A round judged.
   *
   * @param source the round's candidate source: kept when this round becomes the best
   */
  public ProblemTally judged(int branch, int round, Verdict verdict, String source, Instant at) {
    Map<String, Integer> counts = new LinkedHashMap<>(statusCounts);
    counts.merge(verdict.status().name(), 1, Integer::sum);
    List<ProblemResult.CurvePoint> newCurve = curve;
    Double s = speedup(verdict);
    double top = curve.isEmpty() ? 0 : curve.get(curve.size() - 1).speedup();
    if (s != null && s > top) {
      newCurve = new ArrayList<>(curve);
      newCurve.add(new ProblemResult.CurvePoint(seconds(startedAt, at), s));
    }
    boolean better = better(verdict);
    Double kb = kernelbenchSpeedup(verdict);
    boolean kbBetter = kb != null && (kernelbenchBest == null || kb > kernelbenchBest);
    return new ProblemTally(campaignId, problemId, name, level, roundsPlanned, startedAt, finishReason, finishedAt,
        answered, judged + 1, counts, promptTokens, completionTokens, costUsd, gpuSeconds + deviceSeconds(verdict),
        better ? verdict : best, better ? source : bestSource, better ? branch : bestBranch,
        better ? round : bestRound, better ? at : bestJudgedAt, better ? tokensSoFar : tokensToBest, tokensSoFar,
        newCurve, kbBetter ? kb : kernelbenchBest, kbBetter ? verdict : kernelbenchBestVerdict);
  }

  public ProblemTally finished(String reason, Instant at) {
    return new ProblemTally(campaignId, problemId, name, level, roundsPlanned, startedAt, reason, at, answered,
        judged, statusCounts, promptTokens, completionTokens, costUsd, gpuSeconds, best, bestSource, bestBranch,
        bestRound, bestJudgedAt, tokensToBest, tokensSoFar, curve, kernelbenchBest, kernelbenchBestVerdict);
  }

  /** The same tally holding the best round's source (the read side stores it in the journal only). */
  public ProblemTally withBestSource(String source) {
    return new ProblemTally(campaignId, problemId, name, level, roundsPlanned, startedAt, finishReason, finishedAt,
        answered, judged, statusCounts, promptTokens, completionTokens, costUsd, gpuSeconds, best, source, bestBranch,
        bestRound, bestJudgedAt, tokensToBest, tokensSoFar, curve, kernelbenchBest, kernelbenchBestVerdict);
  }

  /** The problem's standing at {@code now} (used for the elapsed time of a problem still running). */
  public ProblemResult result(Instant now) {
    if (!started()) {
      return new ProblemResult(null, null, null, 0, false, null, 0, 0, 0, 0, Map.of(), null, null, -1, -1, 0, 0,
          List.of(), 0, 0, 0, 0, null, null);
    }
    Instant end = finished() ? finishedAt : now;
    return new ProblemResult(campaignId, problemId, name, level, finished(), finishReason, seconds(startedAt, end),
        roundsPlanned, answered, judged, statusCounts, best, bestSource, bestBranch, bestRound,
        best == null ? 0 : seconds(startedAt, bestJudgedAt), tokensToBest, curve, promptTokens, completionTokens,
        costUsd, gpuSeconds, kernelbenchBest, kernelbenchBestVerdict);
  }

  private boolean better(Verdict v) {
    if (best == null) {
      return true;
    }
    Double s = speedup(v);
    Double b = speedup(best);
    if (s != null || b != null) {
      return s != null && (b == null || s > b);
    }
    return true; // neither is correct: the latest verdict stands
  }

  /** The speedup that counts: a correct, timed verdict's; else null. */
  public static Double speedup(Verdict v) {
    return v.correct() && v.timing() != null ? v.timing().speedup() : null;
  }

  /** KernelBench's speedup for a verdict its rules call correct and timed; else null. */
  public static Double kernelbenchSpeedup(Verdict v) {
    return v.kernelbench() != null && v.kernelbench().correct() ? v.kernelbench().speedup() : null;
  }

  /** Seconds the device held this candidate: its evaluation process from load to timing. */
  static double deviceSeconds(Verdict v) {
    return v.stageMillis().entrySet().stream().filter(e -> HarnessNames.DEVICE_STAGES.contains(e.getKey()))
        .mapToDouble(Map.Entry::getValue).sum() / 1000.0;
  }

  private static double seconds(Instant from, Instant to) {
    return Duration.between(from, to).toMillis() / 1000.0;
  }
}
