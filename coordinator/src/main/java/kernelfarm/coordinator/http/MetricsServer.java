package kernelfarm.coordinator.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.campaign.FieldError;
import kernelfarm.coordinator.view.ViewQueries;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * /metrics of a node that serves no HTTP API (a worker-only node, or a coordinator with the API off): the node's
 * registry (its devices' seconds by state, compile and evaluation histograms, harness restarts, JVM) in Prometheus
 * text format, on {@code kernelfarm.metrics.port}. Without it Prometheus would never see a worker's GPUs. Reads need
 * the API token exactly when the API's do ({@code kernelfarm.coordinator.http.read-requires-token}), so one scrape
 * credential covers every node.
 *
 * <pre>
 * curl -s localhost:9480/metrics
 * </pre>
 */
public final class MetricsServer extends AllDirectives {
  private final PrometheusRegistry registry;
  private final Optional<ApiToken> token;
  private final ObjectMapper json;

  private MetricsServer(PrometheusRegistry registry, Optional<ApiToken> token, ObjectMapper json) {
    this.registry = registry;
    this.token = token;
    this.json = json;
  }

  /**
   * The {@code kernelfarm.metrics} block, with the host Artery binds to (so the port is reachable wherever the
   * node's cluster port is) and the API's read-token settings.
   *
   * @param port 0: off
   */
  public record Settings(String host, int port, boolean readRequiresToken, String token, Path tokenFile) {
    public static Settings from(Config config) {
      String bind = config.getString("pekko.remote.artery.bind.hostname");
      Config api = config.getConfig("kernelfarm.coordinator.http");
      Settings s = new Settings(bind.isEmpty() ? config.getString("pekko.remote.artery.canonical.hostname") : bind,
          config.getInt("kernelfarm.metrics.port"), api.getBoolean("read-requires-token"), api.getString("token"),
          Path.of(api.getString("token-file")));
      if (s.port < 0 || s.port > 65535) {
        throw new IllegalArgumentException("kernelfarm.metrics.port: must be 0 (off) to 65535, got " + s.port
            + "; set KFARM_METRICS_PORT");
      }
      return s;
    }
  }

  /**
   * Binds /metrics and waits for the binding; does nothing when the port is 0. A failed bind names the address and
   * the key that sets it.
   *
   * @return the bound address, empty when off
   */
  public static Optional<InetSocketAddress> start(ActorSystem<?> system, Settings settings,
      PrometheusRegistry registry, PrintStream console) {
    if (settings.port() == 0) {
      return Optional.empty();
    }
    JvmMetrics.builder().register(registry);
    MetricsServer server = new MetricsServer(registry, token(settings, console), ViewQueries.json(system));
    try {
      ServerBinding binding = Http.get(system).newServerAt(settings.host(), settings.port()).bind(server.routes())
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      binding.addToCoordinatedShutdown(Duration.ofSeconds(5), system);
      return Optional.of(binding.localAddress());
    } catch (Exception e) {
      throw new IllegalStateException("metrics: cannot listen on " + settings.host() + ":" + settings.port() + " ("
          + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()) + "); set KFARM_METRICS_PORT "
          + "(kernelfarm.metrics.port) to a free port, or to 0 to serve no metrics", e);
    }
  }

  private static Optional<ApiToken> token(Settings settings, PrintStream console) {
    if (!settings.readRequiresToken()) {
      return Optional.empty();
    }
    // A token generated here would be known to no scraper: this node must be given the coordinators' token (a
    // local cluster's nodes share the token file, a Kubernetes pod the Secret).
    if (settings.token().isEmpty() && !Files.exists(settings.tokenFile())) {
      throw new IllegalArgumentException("kernelfarm.coordinator.http.read-requires-token is on, so /metrics on "
          + "kernelfarm.metrics.port needs the API token, and there is none: set KFARM_API_TOKEN to the "
          + "coordinators' token (or KFARM_API_TOKEN_FILE to their token file)");
    }
    return Optional.of(ApiToken.resolve(settings.token(), settings.tokenFile(), console));
  }

  Route routes() {
    return path("metrics", () -> get(() -> optionalHeaderValueByName("Authorization", header ->
        token.isEmpty() || token.get().admits(header) ? scrape() : complete(unauthorized(header.isEmpty())))));
  }

  // Collecting runs callbacks (device clocks, JVM beans) but no I/O, so it runs where the request arrived.
  private Route scrape() {
    return complete(HttpResponse.create().withEntity(
        HttpEntities.create(ContentTypes.parse(NodeMetrics.contentType()), NodeMetrics.text(registry))));
  }

  /** The API's 401, body and challenge alike, so a scraper sees one behaviour on every node. */
  private HttpResponse unauthorized(boolean missing) {
    FieldError error = new FieldError("Authorization", missing ? "missing" : "is not the API token",
        "send \"Authorization: Bearer <token>\" with the token from KFARM_API_TOKEN or the token file");
    try {
      return HttpResponse.create().withStatus(StatusCodes.UNAUTHORIZED)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON,
              json.writeValueAsBytes(Map.of("status", 401, "errors", List.of(error)))))
          .addHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "kfarm")));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a response as JSON", e);
    }
  }
}
