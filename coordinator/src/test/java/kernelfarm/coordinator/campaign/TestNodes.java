package kernelfarm.coordinator.campaign;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.Map;

/** The config every campaign test node shares: real harness on the cpu backend, quick retries, strict wire checks. */
public final class TestNodes {
  private TestNodes() {}

  /** The API token of test nodes. */
  public static final String TOKEN = "kfarm-test-token-0123456789";

  /** {@code specific} (store, roles) over the shared settings. */
  public static Config overrides(Map<String, ?> specific, int warmEvaluators) {
    return ConfigFactory.parseMap(specific).withFallback(ConfigFactory.parseMap(Map.of(
            "kernelfarm.coordinator.prompts", Path.of("../prompts").toAbsolutePath().toString(),
            "kernelfarm.coordinator.search.start-retry", "3s",
            "kernelfarm.coordinator.search.resubmit-every", "5s",
            // Nodes of one test JVM each serve the API on a free port; the token is fixed so tests can send it.
            "kernelfarm.coordinator.http.port", 0,
            "kernelfarm.coordinator.http.token", TOKEN,
            "kernelfarm.coordinator.view.batch-window", "50ms",
            "jdbc-read-journal.refresh-interval", "200ms",
            // Even messages within a node go through their serializer, so one that could not cross the wire fails.
            "pekko.actor.serialize-messages", "on",
            "pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on",
            "kernelfarm.worker.warm-evaluators", warmEvaluators)))
        .withFallback(ConfigFactory.parseString("""
            # Snapshots every few events, so every restart test also recovers from a snapshot.
            kernelfarm.coordinator.search.snapshot-every = 3
            kernelfarm.worker {
              devices = cpu
              work-dir = "target/kfarm-test-work"
              compile-slots = 1
              limits.address-space-bytes = 8589934592
            }
            """));
  }
}
