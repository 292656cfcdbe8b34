package kernelfarm.coordinator.campaign;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A campaign's headline figures as KernelBench reports them, over all its problems: the share with a correct
 * candidate, fast_p (the share whose best candidate is correct and more than p times faster than the reference,
 * strict), the geometric mean of the best correct speedups, and what the search spent.
 *
 * @param geomeanSpeedup over the problems with a correct candidate; null when there is none
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
    int rounds) {

  /** The p of DESIGN.md "Results". */
  public static final List<Double> FAST_P = List.of(0.0, 0.5, 0.8, 1.0, 1.5, 2.0);

  public static CampaignSummary of(List<ProblemResult> results) {
    int n = results.size();
    int correct = 0;
    double logSum = 0;
    double gpu = 0;
    long prompt = 0;
    long completion = 0;
    double cost = 0;
    int rounds = 0;
    for (ProblemResult r : results) {
      Double s = r.bestSpeedup();
      if (s != null && s > 0) {
        correct++;
        logSum += Math.log(s);
      }
      gpu += r.gpuSeconds();
      prompt += r.promptTokens();
      completion += r.completionTokens();
      cost += r.costUsd();
      rounds += r.roundsAnswered();
    }
    Map<String, Double> fastP = new LinkedHashMap<>();
    for (double p : FAST_P) {
      long faster = results.stream().filter(r -> r.bestSpeedup() != null && r.bestSpeedup() > p).count();
      fastP.put("fast_" + p, n == 0 ? 0.0 : (double) faster / n);
    }
    return new CampaignSummary(n, correct, n == 0 ? 0 : (double) correct / n, fastP,
        correct == 0 ? null : Math.exp(logSum / correct), gpu, prompt, completion, cost, rounds);
  }
}
