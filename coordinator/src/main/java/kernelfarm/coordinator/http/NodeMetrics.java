package kernelfarm.coordinator.http;

import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.util.EnumMap;
import java.util.Map;
import kernelfarm.coordinator.campaign.SearchMetrics;
import kernelfarm.coordinator.view.ViewQueries;
import kernelfarm.protocol.DispatcherProtocol;

/**
 * The node's /metrics: its registry (search, LLM, Dispatcher and worker counters, JVM) plus gauges read at scrape
 * time from the read tables (campaigns and problems by state; progress and best speedups of the campaigns shown)
 * and from the Dispatcher's status (queue, leases, devices by state), in
 * Prometheus text format. A scrape runs JDBC: call it on a blocking thread. Every coordinator serves the same
 * Dispatcher figures, so dashboards take their max over instances, not their sum.
 */
final class NodeMetrics {
  /** A device as the Dispatcher sees it: holding work, asking for work, or not heard from for a while. */
  enum DeviceState { busy, idle, silent }

  /** The one exposition path: the API's /metrics and a node's metrics port (MetricsServer) both write with it. */
  private static final PrometheusTextFormatWriter WRITER = PrometheusTextFormatWriter.create();

  private final PrometheusRegistry registry;
  /** Set just before each scrape; null when the Dispatcher did not answer, so its gauges are left out, not stale. */
  private volatile DispatcherProtocol.FarmStatus farm;

  /**
   * @param campaignsShown how many campaigns get per-campaign series (kernelfarm.coordinator.http.metrics-campaigns):
   *     campaign and problem ids are label values, so they are bounded here rather than by an enum
   */
  NodeMetrics(PrometheusRegistry registry, ViewQueries queries, int campaignsShown) {
    this.registry = registry;
    JvmMetrics.builder().register(registry);
    GaugeWithCallback.builder().name("kfarm_campaigns").help("Campaigns in the read tables, by state")
        .labelNames("state").callback(cb -> {
          try {
            queries.campaignStates().forEach((state, n) -> cb.call(n, state.name()));
          } catch (SQLException e) {
            throw new IllegalStateException("read tables unavailable: " + e.getMessage(), e);
          }
        }).register(registry);
    GaugeWithCallback.builder().name("kfarm_problems").help("Problems in the read tables, by state")
        .labelNames("state").callback(cb -> {
          try {
            queries.problemStates().forEach((state, n) -> cb.call(n, state.name()));
          } catch (SQLException e) {
            throw new IllegalStateException("read tables unavailable: " + e.getMessage(), e);
          }
        }).register(registry);
    GaugeWithCallback.builder().name("kfarm_campaign_progress_ratio")
        .help("Share of a campaign's problems that have finished (unfinished campaigns, then the newest others)")
        .labelNames("campaign").callback(cb -> {
          for (ViewQueries.CampaignRow c : read(() -> queries.campaignsShown(campaignsShown))) {
            cb.call(c.problems() == 0 ? 0 : (double) c.problemsDone() / c.problems(), c.id());
          }
        }).register(registry);
    GaugeWithCallback.builder().name("kfarm_campaign_problems_done")
        .help("Problems of a campaign that have finished, of kfarm_campaign_problems")
        .labelNames("campaign").callback(cb -> {
          for (ViewQueries.CampaignRow c : read(() -> queries.campaignsShown(campaignsShown))) {
            cb.call(c.problemsDone(), c.id());
          }
        }).register(registry);
    GaugeWithCallback.builder().name("kfarm_campaign_problems")
        .help("Problems of a campaign")
        .labelNames("campaign").callback(cb -> {
          for (ViewQueries.CampaignRow c : read(() -> queries.campaignsShown(campaignsShown))) {
            cb.call(c.problems(), c.id());
          }
        }).register(registry);
    GaugeWithCallback.builder().name("kfarm_best_speedup")
        .help("Best speedup over the reference of a correct candidate so far, per problem and rule set; absent "
            + "while none is correct")
        .labelNames("campaign", "problem", "rule_set").callback(cb -> {
          for (ViewQueries.CampaignRow c : read(() -> queries.campaignsShown(campaignsShown))) {
            for (ViewQueries.BestSpeedup best : read(() -> queries.bestSpeedups(c.id()))) {
              if (best.strict() != null) {
                cb.call(best.strict(), c.id(), best.problemId(), SearchMetrics.RuleSet.strict.name());
              }
              if (best.kernelbench() != null) {
                cb.call(best.kernelbench(), c.id(), best.problemId(), SearchMetrics.RuleSet.kernelbench.name());
              }
            }
          }
        }).register(registry);
    GaugeWithCallback.builder().name("kfarm_queue_depth")
        .help("Candidates queued at the Dispatcher, waiting for a device")
        .callback(cb -> {
          DispatcherProtocol.FarmStatus f = farm;
          if (f != null) {
            cb.call(f.queued());
          }
        }).register(registry);
    GaugeWithCallback.builder().name("kfarm_leases").help("Candidates leased to a device (compiling or evaluating)")
        .callback(cb -> {
          DispatcherProtocol.FarmStatus f = farm;
          if (f != null) {
            cb.call(f.leased());
          }
        }).register(registry);
    GaugeWithCallback.builder().name("kfarm_devices")
        .help("Devices the Dispatcher hears from, by state; busy over all is the farm's utilisation")
        .labelNames("state").callback(cb -> {
          DispatcherProtocol.FarmStatus f = farm;
          if (f != null) {
            Map<DeviceState, Long> counts = new EnumMap<>(DeviceState.class);
            for (DeviceState state : DeviceState.values()) {
              counts.put(state, 0L);
            }
            f.workers().forEach(w -> counts.merge(stateOf(w), 1L, Long::sum));
            counts.forEach((state, n) -> cb.call(n, state.name()));
          }
        }).register(registry);
  }

  private interface TableRead<T> {
    T read() throws SQLException;
  }

  private static <T> T read(TableRead<T> query) {
    try {
      return query.read();
    } catch (SQLException e) {
      throw new IllegalStateException("read tables unavailable: " + e.getMessage(), e);
    }
  }

  /**
   * Silent: a worker renews or asks at a third of its lease, so a minute without either means it is stuck,
   * unhealthy (it stops asking) or gone.
   */
  static DeviceState stateOf(DispatcherProtocol.WorkerStatus w) {
    if (w.silentSeconds() > 60) {
      return DeviceState.silent;
    }
    return w.leases() > 0 ? DeviceState.busy : DeviceState.idle;
  }

  /** The Dispatcher's status for the next scrape; null when it did not answer. */
  void farm(DispatcherProtocol.FarmStatus status) {
    this.farm = status;
  }

  static String contentType() {
    return WRITER.getContentType();
  }

  byte[] scrape() {
    return text(registry);
  }

  /** Every series of {@code registry} in Prometheus text format. */
  static byte[] text(PrometheusRegistry registry) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      WRITER.write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
