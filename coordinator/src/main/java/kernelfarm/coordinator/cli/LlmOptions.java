package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.llm.LlmClient;
import kernelfarm.coordinator.llm.LlmEndpoint;
import kernelfarm.coordinator.llm.LlmEndpoints;
import kernelfarm.coordinator.llm.LlmPool;
import picocli.CommandLine.Option;

/**
 * Options of every command that asks LLMs: which endpoints (an endpoints file, else the KFARM_LLM_* variables) and
 * how many calls each may have in flight. Keys come from the environment only.
 */
final class LlmOptions {
  static final String ENDPOINTS_FILE = "KFARM_LLM_ENDPOINTS_FILE";
  // Long enough for a TLS handshake across the world, short enough that a dead endpoint is reported at once.
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(10);

  @Option(names = "--llm-endpoints", paramLabel = "FILE", description = "LLM endpoints file (JSON: {\"endpoints\": "
      + "[{\"name\", \"baseUrl\", \"model\", \"apiKeyEnv\", \"maxConcurrency\", ...}]}); default "
      + ENDPOINTS_FILE + ", else the KFARM_LLM_* variables (comma-separated lists for several endpoints)")
  Path endpointsFile;

  @Option(names = "--llm-concurrency", paramLabel = "N", description = "LLM calls in flight per endpoint "
      + "(default: the file's maxConcurrency, else KFARM_LLM_MAX_CONCURRENCY, else "
      + LlmEndpoints.DEFAULT_MAX_CONCURRENCY + ")")
  Integer concurrency;

  /** Where KFARM_LLM_* and the file's apiKeyEnv variables are read; tests pass their own. */
  Map<String, String> env = System.getenv();

  /**
   * The configured endpoints, empty when none is.
   *
   * @throws kernelfarm.coordinator.campaign.SpecException naming the bad variable or field and the fix
   */
  List<LlmEndpoint> endpoints(ObjectMapper json) {
    Path file = endpointsFile;
    if (file == null && env.get(ENDPOINTS_FILE) != null && !env.get(ENDPOINTS_FILE).isBlank()) {
      file = Path.of(env.get(ENDPOINTS_FILE).strip());
    }
    List<LlmEndpoint> endpoints;
    if (file != null) {
      String text;
      try {
        text = Files.readString(file);
      } catch (IOException e) {
        throw new IllegalArgumentException("--llm-endpoints: cannot read " + file + " (" + e.getMessage()
            + "); write the path of a JSON endpoints file");
      }
      endpoints = LlmEndpoints.parse(json, text, env);
    } else {
      endpoints = LlmEndpoints.fromEnvironment(env);
    }
    return concurrency == null ? endpoints : LlmEndpoints.withMaxConcurrency(endpoints, concurrency);
  }

  /**
   * Checks that at least one endpoint answers HTTP before a campaign spends its budget on one that cannot, and
   * prints each one that does not.
   *
   * @throws IllegalStateException naming every endpoint and why it is unreachable, when none is reachable
   */
  static void requireReachable(List<LlmEndpoint> endpoints, HttpClient http, ObjectMapper json) throws Exception {
    List<String> down = unreachable(endpoints, http, json);
    if (down.size() == endpoints.size()) {
      throw new IllegalStateException("no LLM endpoint is reachable, so the campaign was not started: "
          + String.join("; ", down) + ". Start the server, or fix its address in KFARM_LLM_BASE_URL or the "
          + "endpoints file (--llm-endpoints)");
    }
    warn(down);
  }

  /** Prints each endpoint that does not answer HTTP; a long-running node may start before its LLM servers. */
  static void warnUnreachable(List<LlmEndpoint> endpoints, HttpClient http, ObjectMapper json) throws Exception {
    warn(unreachable(endpoints, http, json));
  }

  private static void warn(List<String> down) {
    down.forEach(d -> System.out.println("warning: LLM endpoint unreachable now (its calls fail over to any other "
        + "endpoint): " + d));
  }

  private static List<String> unreachable(List<LlmEndpoint> endpoints, HttpClient http, ObjectMapper json)
      throws Exception {
    if (endpoints.isEmpty()) {
      return List.of();
    }
    LlmPool pool = new LlmPool(endpoints.stream().map(e -> new LlmClient(e, http, json, Clock.systemUTC())).toList());
    return pool.unreachable(PROBE_TIMEOUT).toCompletableFuture().get(PROBE_TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS);
  }
}
