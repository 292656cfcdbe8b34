package kernelfarm.coordinator.http;

import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import kernelfarm.coordinator.view.ViewQueries;

/**
 * The node's /metrics: its registry (search counters, JVM) plus gauges read from the read tables at scrape time
 * (campaigns and problems by state), in Prometheus text format. A scrape runs JDBC: call it on a blocking thread.
 */
final class NodeMetrics {
  private final PrometheusRegistry registry;
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

  NodeMetrics(PrometheusRegistry registry, ViewQueries queries) {
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
  }

  String contentType() {
    return writer.getContentType();
  }

  byte[] scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      writer.write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
