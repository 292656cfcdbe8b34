package kernelfarm.coordinator.campaign;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.Map;

/** The config every campaign test node shares: real harness on the cpu backend, quick retries, strict wire checks. */
final class TestNodes {
  private TestNodes() {}

  /** {@code specific} (store, roles) over the shared settings. */
  static Config overrides(Map<String, ?> specific, int warmEvaluators) {
    return ConfigFactory.parseMap(specific).withFallback(ConfigFactory.parseMap(Map.of(
            "kernelfarm.coordinator.prompts", Path.of("../prompts").toAbsolutePath().toString(),
            "kernelfarm.coordinator.search.start-retry", "3s",
            "kernelfarm.coordinator.search.resubmit-every", "5s",
            // Even messages within a node go through their serializer, so one that could not cross the wire fails.
            "pekko.actor.serialize-messages", "on",
            "pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on",
            "kernelfarm.worker.warm-evaluators", warmEvaluators)))
        .withFallback(ConfigFactory.parseString("""
            kernelfarm.worker {
              devices = cpu
              work-dir = "target/kfarm-test-work"
              compile-slots = 1
              limits.address-space-bytes = 8589934592
            }
            """));
  }
}
