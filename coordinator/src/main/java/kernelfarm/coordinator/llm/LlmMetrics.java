package kernelfarm.coordinator.llm;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Collection;

/**
 * What this node's LLM clients send and what goes wrong, per endpoint, in the node's registry: every HTTP request
 * (a retry is a request of its own, as the endpoint sees it) and every failed one by kind. Tokens and cost are
 * counted with the rounds they bought (SearchMetrics). {@code endpoint} values are configured endpoint names.
 */
public final class LlmMetrics {
  /** Why a request failed; retried kinds may still end in an answer. */
  public enum ErrorKind {
    /** No answer (or no full stream) within the endpoint's request timeout. */
    timeout,
    /** Refused, reset or unreachable. */
    connection,
    /** 429 or 408: the endpoint is busy. */
    throttled,
    /** 5xx. */
    server,
    /** Another 4xx: the server refused the request itself; never retried. */
    refused,
    /** 2xx with a body that is no chat completion, or a stream that broke off. */
    bad_answer,
    /** The request could not be sent at all. */
    not_sent
  }

  private final Counter requests;
  private final Counter errors;

  /** @param endpoints endpoint names whose series show at 0 from the first scrape */
  public LlmMetrics(PrometheusRegistry registry, Collection<String> endpoints) {
    requests = Counter.builder().name("kfarm_llm_requests_total")
        .help("HTTP requests sent to LLM endpoints (each retry counts)").labelNames("endpoint").register(registry);
    errors = Counter.builder().name("kfarm_llm_errors_total")
        .help("LLM requests that failed, by kind (a retried one may still end in an answer)")
        .labelNames("endpoint", "kind").register(registry);
    for (String endpoint : endpoints) {
      requests.labelValues(endpoint);
      for (ErrorKind kind : ErrorKind.values()) {
        errors.labelValues(endpoint, kind.name());
      }
    }
  }

  /** Metrics kept in a registry nobody scrapes: for command-line tools and tests without a node. */
  public static LlmMetrics unscraped() {
    return new LlmMetrics(new PrometheusRegistry(), java.util.List.of());
  }

  void request(String endpoint) {
    requests.labelValues(endpoint).inc();
  }

  void error(String endpoint, ErrorKind kind) {
    errors.labelValues(endpoint, kind.name()).inc();
  }
}
