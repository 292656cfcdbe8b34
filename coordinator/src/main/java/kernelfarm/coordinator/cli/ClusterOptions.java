package kernelfarm.coordinator.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;

/** Options of a command that runs a cluster node: its roles, its address, and the cluster it joins. */
final class ClusterOptions {
  private static final Pattern HOST_PORT = Pattern.compile("(?:pekko://KernelFarm@)?([^:/@]+):(\\d{1,5})");
  private static final List<String> ROLES = List.of("coordinator", "worker");

  @Option(names = "--roles", split = ",", defaultValue = "coordinator,worker",
      description = "coordinator, worker or both (default: ${DEFAULT-VALUE})")
  List<String> roles;

  @Option(names = "--join", description = "HOST:PORT of a node of the cluster to join (default: form a new "
      + "cluster of this node alone)")
  String join;

  @Option(names = "--host", description = "the address other nodes reach this one at (KFARM_HOST; default "
      + "127.0.0.1)")
  String host;

  @Option(names = "--port", description = "this node's cluster port (KFARM_PORT; default: a free one)")
  Integer port;

  /**
   * What a node started from the command line lays over node.conf: these options, then the farm's, then the
   * prompts and the store under KFARM_HOME unless KFARM_PROMPTS or KFARM_STORE_URL say otherwise.
   */
  Config nodeOverrides(FarmOptions farm) {
    Path home = Path.of(System.getenv().getOrDefault("KFARM_HOME", ".")).toAbsolutePath().normalize();
    return overrides().withFallback(farm.overrides()).withFallback(ConfigFactory.parseMap(Map.of(
        "kernelfarm.coordinator.prompts", System.getenv().getOrDefault("KFARM_PROMPTS",
            home.resolve("prompts").toString()),
        "kernelfarm.store.url", System.getenv().getOrDefault("KFARM_STORE_URL",
            "jdbc:h2:file:" + home.resolve("kfarm-results").resolve("store").resolve("kfarm")))));
  }

  /** Only what these options set. */
  Config overrides() {
    for (String role : roles) {
      if (!ROLES.contains(role)) {
        throw new IllegalArgumentException("--roles: \"" + role + "\" is not a role; use coordinator, worker or "
            + "coordinator,worker");
      }
    }
    Config config = ConfigFactory.empty()
        .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(roles));
    if (join != null) {
      Matcher m = HOST_PORT.matcher(join.strip());
      if (!m.matches() || Integer.parseInt(m.group(2)) > 65535) {
        throw new IllegalArgumentException("--join: \"" + join + "\" is not HOST:PORT; give a running node's "
            + "address as it logged it, e.g. --join 10.0.0.5:25520");
      }
      config = config.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(
          List.of("pekko://KernelFarm@" + m.group(1) + ":" + m.group(2))));
    }
    if (host != null) {
      config = config.withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(host));
    }
    if (port != null) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("--port: " + port + " is not a port; use 1-65535 (or 0 for a free one)");
      }
      config = config.withValue("pekko.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(port));
    }
    return config;
  }

  boolean plays(String role) {
    return roles.contains(role);
  }
}
