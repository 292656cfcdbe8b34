package kernelfarm.coordinator.campaign;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A campaign's headline figures as KernelBench reports them, over all its problems: the share with a correct
 * candidate, fast_p (the share whose best candidate is correct and more than p times faster than the reference,
 * strict), the geometric mean of the best correct speedups, and what the search spent. The top-level figures are the
 * strict ones (every anti-cheat check); {@code kernelbench} gives the same figures by KernelBench's own rules.
 *
 * @param geomeanSpeedup over the problems with a correct candidate; null when there is none
 * @param kernelbench the same figures by KernelBench's rules and timing method
 */
public record CampaignSummary(
    int problems,
    int correct,
    double correctnessRate,
    Map<String, Double> fastP,
    Double geomeanSpeedup,
    double gpuSeconds,
    long promptTokens,
    long completionTokens,
    double costUsd,
    int rounds,
    RuleSet kernelbench) {

  /** The p of DESIGN.md "Results". */
  public static final List<Double> FAST_P = List.of(0.0, 0.5, 0.8, 1.0, 1.5, 2.0);

  /** Correctness rate, fast_p and geomean under one rule set. */
  public record RuleSet(int correct, double correctnessRate, Map<String, Double> fastP, Double geomeanSpeedup) {
    /** From each problem's best speedup under the rule set (null where nothing was correct). */
    static RuleSet of(List<Double> bestSpeedups) {
      int n = bestSpeedups.size();
      int correct = 0;
      double logSum = 0;
      for (Double s : bestSpeedups) {
        if (s != null && s > 0) {
          correct++;
          logSum += Math.log(s);
        }
      }
      Map<String, Double> fastP = new LinkedHashMap<>();
      for (double p : FAST_P) {
        long faster = bestSpeedups.stream().filter(s -> s != null && s > p).count();
        fastP.put("fast_" + p, n == 0 ? 0.0 : (double) faster / n);
      }
      return new RuleSet(correct, n == 0 ? 0 : (double) correct / n, fastP,
          correct == 0 ? null : Math.exp(logSum / correct));
    }
  }

  public static CampaignSummary of(List<ProblemResult> results) {
    double gpu = 0;
    long prompt = 0;
    long completion = 0;
    double cost = 0;
    int rounds = 0;
    for (ProblemResult r : results) {
      gpu += r.gpuSeconds();
      prompt += r.promptTokens();
      completion += r.completionTokens();
      cost += r.costUsd();
      rounds += r.roundsAnswered();
    }
    RuleSet strict = RuleSet.of(results.stream().map(ProblemResult::bestSpeedup).toList());
    RuleSet kernelbench = RuleSet.of(results.stream().map(ProblemResult::kernelbenchBestSpeedup).toList());
    return new CampaignSummary(results.size(), strict.correct(), strict.correctnessRate(), strict.fastP(),
        strict.geomeanSpeedup(), gpu, prompt, completion, cost, rounds, kernelbench);
  }
}
