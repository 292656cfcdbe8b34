package kernelfarm.coordinator.campaign;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Set;
import kernelfarm.protocol.KernelBenchVerdict;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;

/**
 * What the search entities of one node count, in the node's Prometheus registry. Counted once, when an event is
 * persisted (never on replay), so the sum over coordinator nodes is the cluster's. Label values come from enums,
 * except {@code endpoint}: the names of the node's configured LLM endpoints, a set fixed at startup.
 */
public final class SearchMetrics {
  /** The kinds of LLM tokens counted. */
  public enum TokenKind { prompt, completion }

  /** The two rule sets every verdict is judged by (DESIGN.md, Verification). */
  public enum RuleSet { strict, kernelbench }

  /**
   * KernelBench's answer as a status: its eval decides only whether the candidate compiled and was correct.
   * UNJUDGED where the harness gave no KernelBench answer (a verdict the worker made itself, such as a timeout).
   */
  public enum KernelBenchStatus { CORRECT, INCORRECT, NOT_COMPILED, UNJUDGED }

  private final Counter verdicts;
  private final Counter rounds;
  private final Counter tokens;
  private final Counter cost;

  /** @param endpoints the node's LLM endpoint names, whose series show at 0 from the first scrape */
  public SearchMetrics(PrometheusRegistry registry, Set<String> endpoints) {
    verdicts = Counter.builder().name("kfarm_verdicts_total")
        .help("Verdicts persisted by problem coordinators, by rule set (strict: the farm's status with every "
            + "anti-cheat check; kernelbench: what KernelBench's own eval would say) and status; each verdict "
            + "counts once under each rule set")
        .labelNames("rule_set", "status").register(registry);
    rounds = Counter.builder().name("kfarm_rounds_total").help("LLM answers persisted as rounds").register(registry);
    tokens = Counter.builder().name("kfarm_llm_tokens_total").help("LLM tokens of persisted rounds")
        .labelNames("kind", "endpoint").register(registry);
    cost = Counter.builder().name("kfarm_llm_cost_usd_total").help("LLM cost of persisted rounds, US dollars")
        .labelNames("endpoint").register(registry);
    for (Status s : Status.values()) {
      verdicts.labelValues(RuleSet.strict.name(), s.name()); // every status shows, at 0, from the first scrape
    }
    for (KernelBenchStatus s : KernelBenchStatus.values()) {
      verdicts.labelValues(RuleSet.kernelbench.name(), s.name());
    }
    for (String endpoint : endpoints) {
      for (TokenKind kind : TokenKind.values()) {
        // likewise: a series that appears only with the first round breaks rate()
        tokens.labelValues(kind.name(), endpoint);
      }
      cost.labelValues(endpoint);
    }
  }

  public void verdict(Verdict verdict) {
    verdicts.labelValues(RuleSet.strict.name(), verdict.status().name()).inc();
    verdicts.labelValues(RuleSet.kernelbench.name(), kernelBenchStatus(verdict.kernelbench()).name()).inc();
  }

  static KernelBenchStatus kernelBenchStatus(KernelBenchVerdict kernelbench) {
    if (kernelbench == null) {
      return KernelBenchStatus.UNJUDGED;
    }
    if (!kernelbench.compiled()) {
      return KernelBenchStatus.NOT_COMPILED;
    }
    return kernelbench.correct() ? KernelBenchStatus.CORRECT : KernelBenchStatus.INCORRECT;
  }

  public void round(String endpoint, int promptTokens, int completionTokens, double costUsd) {
    rounds.inc();
    tokens.labelValues(TokenKind.prompt.name(), endpoint).inc(promptTokens);
    tokens.labelValues(TokenKind.completion.name(), endpoint).inc(completionTokens);
    cost.labelValues(endpoint).inc(costUsd);
  }
}
