package kernelfarm.worker.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The harness's stage and check names, read from its {@code names.json}: one list that the worker and the Python
 * harness share, so a stage the worker does not know is a forgery and never a rename.
 */
public final class HarnessNames {
  /** Every stage a harness process may report, in the order a candidate meets them. */
  public static final List<String> STAGES;
  /** The stages that hold the GPU: what a verdict's device time counts. */
  public static final List<String> DEVICE_STAGES;
  /** Every check, in the order a verdict lists them, with what passing it means. */
  public static final Map<String, String> CHECKS;

  static {
    try (InputStream in = HarnessNames.class.getResourceAsStream("/harness/names.json")) {
      if (in == null) {
        throw new IllegalStateException("harness/names.json is missing from the worker jar");
      }
      JsonNode names = new ObjectMapper().readTree(in);
      List<String> stages = new ArrayList<>();
      List<String> device = new ArrayList<>();
      for (JsonNode stage : names.get("stages")) {
        stages.add(stage.get("name").asText());
        if (stage.get("device").asBoolean()) {
          device.add(stage.get("name").asText());
        }
      }
      Map<String, String> checks = new LinkedHashMap<>();
      for (JsonNode check : names.get("checks")) {
        checks.put(check.get("name").asText(), check.get("what").asText());
      }
      STAGES = List.copyOf(stages);
      DEVICE_STAGES = List.copyOf(device);
      CHECKS = java.util.Collections.unmodifiableMap(checks);
    } catch (IOException e) {
      throw new UncheckedIOException("harness/names.json is unreadable", e);
    }
  }

  private HarnessNames() {}
}
