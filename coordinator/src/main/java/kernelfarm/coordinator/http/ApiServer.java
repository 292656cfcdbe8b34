package kernelfarm.coordinator.http;

import com.typesafe.config.Config;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.service.CampaignService;
import kernelfarm.coordinator.view.ViewQueries;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;

/** Binds the HTTP API on a coordinator node, as {@code kernelfarm.coordinator.http} says; unbinds on shutdown. */
public final class ApiServer {
  private ApiServer() {}

  /**
   * The {@code kernelfarm.coordinator.http} block.
   *
   * @param token empty: from tokenFile, or generated there
   */
  public record Settings(boolean enabled, String host, int port, String token, Path tokenFile,
      boolean readRequiresToken, long maxBodyBytes, Duration askTimeout, Duration liveEvery, int metricsCampaigns) {
    public static Settings from(Config config) {
      Config c = config.getConfig("kernelfarm.coordinator.http");
      Settings s = new Settings(c.getBoolean("enabled"), c.getString("host"), c.getInt("port"), c.getString("token"),
          Path.of(c.getString("token-file")), c.getBoolean("read-requires-token"), c.getBytes("max-body-bytes"),
          c.getDuration("ask-timeout"), c.getDuration("live-every"), c.getInt("metrics-campaigns"));
      if (s.port < 0 || s.port > 65535) {
        throw new IllegalArgumentException("kernelfarm.coordinator.http.port: must be 0 to 65535, got " + s.port
            + "; set KFARM_HTTP_PORT");
      }
      if (s.liveEvery.toMillis() < 100) {
        throw new IllegalArgumentException("kernelfarm.coordinator.http.live-every: must be at least 100ms, got "
            + s.liveEvery + "; set KFARM_HTTP_LIVE_EVERY to e.g. 1s");
      }
      if (s.metricsCampaigns < 0) {
        throw new IllegalArgumentException("kernelfarm.coordinator.http.metrics-campaigns: must be 0 or more, got "
            + s.metricsCampaigns + "; set KFARM_HTTP_METRICS_CAMPAIGNS to e.g. 10");
      }
      return s;
    }
  }

  /**
   * Binds and waits for the binding. A failed bind names the address and the key that sets it.
   *
   * @return the bound address
   */
  public static InetSocketAddress start(ActorSystem<?> system, CampaignService service, Settings settings,
      PrometheusRegistry metrics, PrintStream console) {
    ApiToken token = ApiToken.resolve(settings.token(), settings.tokenFile(), console);
    ApiRoutes routes = new ApiRoutes(system, service, ViewQueries.json(system), token, settings.readRequiresToken(),
        settings.maxBodyBytes(), settings.liveEvery(), metrics, settings.metricsCampaigns());
    try {
      ServerBinding binding = Http.get(system).newServerAt(settings.host(), settings.port()).bind(routes.routes())
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      binding.addToCoordinatedShutdown(Duration.ofSeconds(5), system);
      return binding.localAddress();
    } catch (Exception e) {
      throw new IllegalStateException("HTTP API: cannot listen on " + settings.host() + ":" + settings.port() + " ("
          + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()) + "); set KFARM_HTTP_PORT "
          + "(kernelfarm.coordinator.http.port) to a free port, or KFARM_HTTP_ENABLED=off", e);
    }
  }
}
