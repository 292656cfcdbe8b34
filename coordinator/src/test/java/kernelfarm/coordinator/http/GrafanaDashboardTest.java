package kernelfarm.coordinator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import kernelfarm.coordinator.campaign.SearchMetrics;
import kernelfarm.coordinator.dispatch.Dispatcher;
import kernelfarm.coordinator.llm.LlmMetrics;
import kernelfarm.worker.WorkerMetrics;
import kernelfarm.coordinator.view.ViewDatabase;
import kernelfarm.coordinator.view.ViewQueries;
import kernelfarm.protocol.DeviceState;
import kernelfarm.protocol.DispatcherProtocol;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * deploy/grafana/kernelfarm.json queries only metrics a node exports: every metric name in every panel's PromQL is
 * in a scrape of the node's registry (the search, LLM, Dispatcher and worker metrics and the /metrics gauges,
 * over a real read-side schema on an in-memory H2; per-campaign gauges, empty there, count as registered). A
 * renamed metric fails here, not silently on an operator's empty panel.
 */
class GrafanaDashboardTest {
  private static final Path DASHBOARD = Path.of("../deploy/grafana/kernelfarm.json");
  private static final Path SCRAPE_CONFIG = Path.of("../deploy/prometheus/prometheus.yml");
  private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left",
      "group_right", "and", "or", "unless", "bool", "offset");

  @Test
  void everyMetricTheDashboardQueriesIsExported() throws Exception {
    Map<String, Set<String>> queried = queriedMetrics(new ObjectMapper().readTree(DASHBOARD.toFile()));
    assertFalse(queried.isEmpty(), "the dashboard queries nothing");
    Set<String> exported = exportedMetrics();
    Map<String, Set<String>> missing = new TreeMap<>();
    queried.forEach((metric, panels) -> {
      if (!exported.contains(metric)) {
        missing.put(metric, panels);
      }
    });
    assertEquals(Map.of(), missing, "metrics the dashboard queries (by panel) that /metrics does not export; "
        + "exported: " + exported);
  }

  @Test
  void theNameParserFindsMetricsAndSkipsFunctionsLabelsAndRanges() {
    assertEquals(Set.of("kfarm_devices"),
        metricNames("max(kfarm_devices{state=\"busy\"}) / clamp_min(max(sum by (instance) (kfarm_devices)), 1)"));
    assertEquals(Set.of("kfarm_llm_cost_usd_total", "kfarm_nope"),
        metricNames("sum(increase(kfarm_llm_cost_usd_total[$__range])) + on (job) kfarm_nope offset 5m"));
  }

  @Test
  void theScrapeConfigIsValidWherePromtoolIsInstalled() throws Exception {
    Path promtool = Stream.of(System.getenv().getOrDefault("PATH", "/usr/bin").split(":"))
        .map(d -> Path.of(d, "promtool")).filter(Files::isExecutable).findFirst().orElse(null);
    Assumptions.assumeTrue(promtool != null, "promtool is not installed (Debian: apt-get install prometheus)");
    Process p = new ProcessBuilder(promtool.toString(), "check", "config", SCRAPE_CONFIG.toString())
        .redirectErrorStream(true).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool did not finish");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), out);
  }

  /** Metric name to the titles of the panels that query it. */
  private static Map<String, Set<String>> queriedMetrics(JsonNode dashboard) {
    Map<String, Set<String>> out = new TreeMap<>();
    for (JsonNode panel : dashboard.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        for (String name : metricNames(target.path("expr").asText())) {
          out.computeIfAbsent(name, n -> new TreeSet<>()).add(panel.path("title").asText());
        }
      }
    }
    return out;
  }

  /** The metric names in a PromQL expression: identifiers that are not functions, keywords or label names. */
  static Set<String> metricNames(String expr) {
    String bare = expr.replaceAll("\"[^\"]*\"", "\"\"")
        .replaceAll("\\{[^}]*}", " ")
        .replaceAll("\\[[^\\]]*]", " ")
        .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
        .replaceAll("\\b\\d+[smhdwy]\\b", " ");
    Set<String> names = new TreeSet<>();
    Matcher m = Pattern.compile("([A-Za-z_:][A-Za-z0-9_:]*)(\\s*\\()?").matcher(bare);
    while (m.find()) {
      if (m.group(2) == null && !KEYWORDS.contains(m.group(1))) {
        names.add(m.group(1));
      }
    }
    return names;
  }

  /** The names in a scrape of a node's registry, as Prometheus stores them (counters with _total). */
  private static Set<String> exportedMetrics() throws Exception {
    try (ViewDatabase db = ViewDatabase.open(ConfigFactory.parseMap(Map.of(
            "kernelfarm.store.url", "jdbc:h2:mem:grafana-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1"))
        .withFallback(ConfigFactory.load()))) {
      db.createSchema();
      PrometheusRegistry registry = new PrometheusRegistry();
      new SearchMetrics(registry, Set.of("endpoint-a"));
      new LlmMetrics(registry, List.of("endpoint-a"));
      Dispatcher.leaseExpiries(registry);
      new WorkerMetrics(registry).device(0).enter(DeviceState.evaluating);
      NodeMetrics metrics = new NodeMetrics(registry, new ViewQueries(db, new ObjectMapper()), 10);
      metrics.farm(new DispatcherProtocol.FarmStatus(2, 1, 5, 9L, List.of(
          new DispatcherProtocol.WorkerStatus("node/device-0", "cpu", 1, false, 3.0, 10.0, 0.5, 4L, null))));
      Set<String> names = new TreeSet<>();
      for (String line : new String(metrics.scrape(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isBlank() && !line.startsWith("#")) {
          names.add(line.split("[{ ]", 2)[0]);
        }
      }
      // Per-campaign gauges have no samples over empty tables; registered is what matters, named as stored.
      for (MetricSnapshot snapshot : registry.scrape()) {
        String name = snapshot.getMetadata().getPrometheusName();
        if (snapshot instanceof GaugeSnapshot) {
          names.add(name);
        }
      }
      return names;
    }
  }
}
