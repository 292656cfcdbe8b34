package kernelfarm.coordinator.campaign;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import kernelfarm.protocol.Status;

/**
 * What the search entities of one node count, in the node's Prometheus registry. Counted once, when an event is
 * persisted (never on replay), so the sum over coordinator nodes is the cluster's. Label values come from enums.
 */
public final class SearchMetrics {
  /** The kinds of LLM tokens counted. */
  public enum TokenKind { prompt, completion }

  private final Counter verdicts;
  private final Counter rounds;
  private final Counter tokens;
  private final Counter cost;

  public SearchMetrics(PrometheusRegistry registry) {
    verdicts = Counter.builder().name("kfarm_verdicts_total").help("Verdicts persisted by problem coordinators")
        .labelNames("status").register(registry);
    rounds = Counter.builder().name("kfarm_rounds_total").help("LLM answers persisted as rounds").register(registry);
    tokens = Counter.builder().name("kfarm_llm_tokens_total").help("LLM tokens of persisted rounds")
        .labelNames("kind").register(registry);
    cost = Counter.builder().name("kfarm_llm_cost_usd_total").help("LLM cost of persisted rounds, US dollars")
        .register(registry);
    for (Status s : Status.values()) {
      verdicts.labelValues(s.name()); // every status shows, at 0, from the first scrape
    }
    for (TokenKind kind : TokenKind.values()) {
      tokens.labelValues(kind.name()); // likewise: a series that appears only with the first round breaks rate()
    }
  }

  public void verdict(Status status) {
    verdicts.labelValues(status.name()).inc();
  }

  public void round(int promptTokens, int completionTokens, double costUsd) {
    rounds.inc();
    tokens.labelValues(TokenKind.prompt.name()).inc(promptTokens);
    tokens.labelValues(TokenKind.completion.name()).inc(completionTokens);
    cost.inc(costUsd);
  }
}
