package kernelfarm.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import kernelfarm.coordinator.campaign.TestNodes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes manifests agree with the code: ports, roles, probes, discovery labels, environment names and the
 * worker's grace period are checked against the node's own config, and the probes' endpoints are served for real.
 */
class DeployManifestsTest {
  private static final Path K8S = Path.of("../deploy/k8s");
  private static final Config NODE = ConfigFactory.load("node");
  private final ObjectMapper yaml = new ObjectMapper(new YAMLFactory());

  private List<JsonNode> documents() throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (Stream<Path> files = Files.list(K8S)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        try (MappingIterator<JsonNode> it = yaml.readerFor(JsonNode.class).readValues(file.toFile())) {
          while (it.hasNext()) {
            JsonNode doc = it.next();
            if (doc != null && !doc.isEmpty()) {
              docs.add(doc);
            }
          }
        }
      }
    }
    return docs;
  }

  private List<JsonNode> kind(String kind) throws IOException {
    return documents().stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
  }

  private static JsonNode container(JsonNode deployment) {
    JsonNode containers = deployment.at("/spec/template/spec/containers");
    assertEquals(1, containers.size(), deployment.at("/metadata/name") + ": one container");
    return containers.get(0);
  }

  private static Map<String, Integer> ports(JsonNode container) {
    Map<String, Integer> ports = new HashMap<>();
    container.path("ports").forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
    return ports;
  }

  private static Map<String, JsonNode> env(JsonNode container) {
    Map<String, JsonNode> env = new HashMap<>();
    container.path("env").forEach(e -> env.put(e.path("name").asText(), e));
    return env;
  }

  private static String role(JsonNode container) {
    List<String> command = new ArrayList<>();
    container.path("command").forEach(c -> command.add(c.asText()));
    assertEquals("/opt/kfarm/bin/kfarm", command.get(0));
    assertEquals("node", command.get(1));
    int at = command.indexOf("--roles");
    assertTrue(at > 0, "the command names the node's roles: " + command);
    return command.get(at + 1);
  }

  @Test
  void kustomizationListsEveryManifest() throws IOException {
    JsonNode kustomization = yaml.readTree(K8S.resolve("kustomization.yaml").toFile());
    Set<String> listed = new HashSet<>();
    kustomization.path("resources").forEach(r -> listed.add(r.asText()));
    try (Stream<Path> files = Files.list(K8S)) {
      Set<String> present = new HashSet<>(files.map(f -> f.getFileName().toString())
          .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml")).toList());
      assertEquals(present, listed);
    }
  }

  @Test
  void everyNodePodMatchesTheNodesConfig() throws IOException {
    List<JsonNode> nodes = kind("Deployment").stream()
        .filter(d -> "kernelfarm".equals(d.at("/spec/template/metadata/labels/app.kubernetes.io~1part-of").asText()))
        .toList();
    assertEquals(2, nodes.size(), "a coordinator and a worker deployment");
    Set<String> roles = new HashSet<>();
    String selector = NODE.getString("pekko.discovery.kubernetes-api.pod-label-selector");
    String portName = NODE.getString("pekko.discovery.kubernetes-api.pod-port-name");
    int management = NODE.getInt("pekko.management.http.port");
    for (JsonNode node : nodes) {
      String name = node.at("/metadata/name").asText();
      JsonNode c = container(node);
      roles.add(role(c));
      Map<String, Integer> ports = ports(c);
      Map<String, JsonNode> env = env(c);
      assertEquals(Integer.parseInt(env.get("KFARM_PORT").path("value").asText()), ports.get("remoting"),
          name + ": the cluster port it advertises is the one it exposes");
      assertEquals("status.podIP", env.get("KFARM_HOST").at("/valueFrom/fieldRef/fieldPath").asText(), name);
      assertEquals(management, ports.get(portName), name + ": bootstrap's contact point is the management port");
      assertEquals("on", env.get("KFARM_MANAGEMENT").path("value").asText(), name);
      assertEquals("on", env.get("KFARM_BOOTSTRAP").path("value").asText(), name);
      String[] label = selector.split("=");
      assertEquals(label[1], node.at("/spec/template/metadata/labels").path(label[0]).asText(),
          name + ": discovery finds it by " + selector);
      assertEquals("/" + NODE.getString("pekko.management.health-checks.readiness-path"),
          c.at("/readinessProbe/httpGet/path").asText(), name);
      assertEquals("/" + NODE.getString("pekko.management.health-checks.liveness-path"),
          c.at("/livenessProbe/httpGet/path").asText(), name);
      assertEquals(portName, c.at("/readinessProbe/httpGet/port").asText(), name);
      assertEquals(portName, c.at("/livenessProbe/httpGet/port").asText(), name);
      String account = node.at("/spec/template/spec/serviceAccountName").asText();
      assertTrue(mayListPods(account), name + ": service account " + account + " may list pods for discovery");
      for (String variable : env.keySet()) {
        assertTrue(readByTheCode(variable), name + ": " + variable + " is read nowhere in the code or its config");
      }
      assertTrue(kind("PodDisruptionBudget").stream().anyMatch(pdb -> node.at("/spec/selector/matchLabels")
          .equals(pdb.at("/spec/selector/matchLabels"))), name + ": has a PodDisruptionBudget");
    }
    assertEquals(Set.of("coordinator", "worker"), roles);
  }

  @Test
  void theCoordinatorServesTheApiAndMetricsWherePrometheusLooks() throws IOException {
    JsonNode coordinator = kind("Deployment").stream()
        .filter(d -> "coordinator".equals(role(container(d)))).findFirst().orElseThrow();
    JsonNode c = container(coordinator);
    int http = NODE.getInt("kernelfarm.coordinator.http.port");
    assertEquals(http, ports(c).get("http"));
    assertEquals(Integer.toString(http), env(c).get("KFARM_HTTP_PORT").path("value").asText());
    assertEquals("0.0.0.0", env(c).get("KFARM_HTTP_HOST").path("value").asText(), "reachable from the Service");
    JsonNode annotations = coordinator.at("/spec/template/metadata/annotations");
    assertEquals("true", annotations.path("prometheus.io/scrape").asText());
    assertEquals(Integer.toString(http), annotations.path("prometheus.io/port").asText());
    assertEquals("/metrics", annotations.path("prometheus.io/path").asText());
    assertTrue(env(c).get("KFARM_STORE_URL").path("value").asText().startsWith("jdbc:postgresql://"));
    assertTrue(env(c).get("KFARM_LLM_API_KEY").has("valueFrom"), "the LLM key comes from a secret, never inline");
    assertTrue(env(c).get("KFARM_API_TOKEN").has("valueFrom"), "the API token comes from a secret, never inline");
  }

  @Test
  void aWorkerServesItsMetricsOnTheConfiguredPortWherePrometheusLooks() throws IOException {
    JsonNode worker = kind("Deployment").stream()
        .filter(d -> "worker".equals(role(container(d)))).findFirst().orElseThrow();
    JsonNode c = container(worker);
    String value = env(c).get("KFARM_METRICS_PORT").path("value").asText();
    // The variable is the key's override: the port the manifest sets is the one the node binds.
    int port = ConfigFactory.parseMap(Map.of("KFARM_METRICS_PORT", value))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("node"))
        .withFallback(ConfigFactory.defaultReference()).resolve().getInt("kernelfarm.metrics.port");
    assertTrue(port > 0, "the worker's metrics port is on");
    assertEquals(port, ports(c).get("metrics"));
    JsonNode annotations = worker.at("/spec/template/metadata/annotations");
    assertEquals("true", annotations.path("prometheus.io/scrape").asText());
    assertEquals(Integer.toString(port), annotations.path("prometheus.io/port").asText());
    assertEquals("/metrics", annotations.path("prometheus.io/path").asText());
    JsonNode coordinator = container(kind("Deployment").stream()
        .filter(d -> "coordinator".equals(role(container(d)))).findFirst().orElseThrow());
    assertEquals(env(coordinator).get("KFARM_API_READ_REQUIRES_TOKEN").path("value").asText(),
        env(c).get("KFARM_API_READ_REQUIRES_TOKEN").path("value").asText(),
        "one scrape credential: a worker's /metrics needs the token where the coordinators' does");
    assertEquals(env(coordinator).get("KFARM_API_TOKEN").at("/valueFrom/secretKeyRef"),
        env(c).get("KFARM_API_TOKEN").at("/valueFrom/secretKeyRef"), "the coordinators' token, from the secret");
  }

  @Test
  void theKubernetesScrapeConfigScrapesEveryNodeOnItsMetricsPort() throws IOException {
    JsonNode scrape = yaml.readTree(Path.of("../deploy/prometheus/kubernetes.yml").toFile());
    JsonNode job = scrape.path("scrape_configs").get(0);
    assertEquals("pod", job.at("/kubernetes_sd_configs/0/role").asText());
    for (JsonNode deployment : kind("Deployment")) {
      String role = role(container(deployment));
      JsonNode pod = deployment.at("/spec/template/metadata");
      Map<String, String> target = relabel(job.path("relabel_configs"), discovered(pod, "10.1.2.3:25520"));
      assertNotNull(target, role + ": the scrape config keeps its pods");
      String port = pod.at("/annotations").path("prometheus.io/port").asText();
      assertEquals("10.1.2.3:" + port, target.get("__address__"), role);
      assertEquals("/metrics", target.get("__metrics_path__"), role);
      int named = ports(container(deployment)).get("coordinator".equals(role) ? "http" : "metrics");
      assertEquals(Integer.toString(named), port, role + ": the annotation names the port that serves /metrics");
    }
  }

  @Test
  void theLocalScrapeConfigReadsTheWorkerTargetsThatClusterShWrites() throws IOException {
    JsonNode scrape = yaml.readTree(Path.of("../deploy/prometheus/prometheus.yml").toFile());
    String cluster = Files.readString(Path.of("../deploy/local/cluster.sh"));
    String prometheus = Files.readString(Path.of("../deploy/local/prometheus.sh"));
    List<String> files = new ArrayList<>();
    scrape.path("scrape_configs").forEach(job -> job.path("file_sd_configs")
        .forEach(sd -> sd.path("files").forEach(f -> files.add(f.asText()))));
    assertEquals(List.of("kfarm-workers.json"), files, "the workers' job reads one target file");
    assertTrue(cluster.contains("$prometheus_data/" + files.get(0)), "cluster.sh writes it where Prometheus looks");
    assertTrue(cluster.contains("KFARM_METRICS_PORT="), "cluster.sh gives each worker a metrics port");
    assertTrue(prometheus.contains("$data/" + files.get(0)), "prometheus.sh starts with it present");
    assertTrue(cluster.contains("${KFARM_PROMETHEUS_DATA:-$root/kfarm-results/prometheus}")
        && prometheus.contains("${KFARM_PROMETHEUS_DATA:-$here/kfarm-results/prometheus}"), "one data folder");
  }

  /** The labels Prometheus's pod discovery gives a pod's target (labels and annotations, name-sanitised). */
  private static Map<String, String> discovered(JsonNode podMetadata, String address) {
    Map<String, String> labels = new HashMap<>();
    labels.put("__address__", address);
    labels.put("__metrics_path__", "/metrics");
    podMetadata.path("labels").fields().forEachRemaining(e -> labels.put(
        "__meta_kubernetes_pod_label_" + e.getKey().replaceAll("[^a-zA-Z0-9_]", "_"), e.getValue().asText()));
    podMetadata.path("annotations").fields().forEachRemaining(e -> labels.put(
        "__meta_kubernetes_pod_annotation_" + e.getKey().replaceAll("[^a-zA-Z0-9_]", "_"), e.getValue().asText()));
    return labels;
  }

  /** Prometheus's relabelling (keep, drop, replace) as far as the config uses it; null when the target is dropped. */
  private static Map<String, String> relabel(JsonNode rules, Map<String, String> labels) {
    Map<String, String> out = new HashMap<>(labels);
    for (JsonNode rule : rules) {
      List<String> values = new ArrayList<>();
      rule.path("source_labels").forEach(l -> values.add(out.getOrDefault(l.asText(), "")));
      Matcher m = Pattern.compile("^(?:" + rule.path("regex").asText("(.*)") + ")$")
          .matcher(String.join(rule.path("separator").asText(";"), values));
      switch (rule.path("action").asText("replace")) {
        case "keep" -> {
          if (!m.matches()) {
            return null;
          }
        }
        case "drop" -> {
          if (m.matches()) {
            return null;
          }
        }
        case "replace" -> {
          if (m.matches()) {
            out.put(rule.path("target_label").asText(), m.replaceFirst(rule.path("replacement").asText("$1")));
          }
        }
        default -> throw new AssertionError("relabel action not simulated: " + rule);
      }
    }
    return out;
  }

  @Test
  void aWorkerAsksForAGpuAndMayFinishOneEvaluationAndALeaseWhenDrained() throws IOException {
    JsonNode worker = kind("Deployment").stream()
        .filter(d -> "worker".equals(role(container(d)))).findFirst().orElseThrow();
    JsonNode c = container(worker);
    assertTrue(c.at("/resources/limits").path("nvidia.com/gpu").asInt() >= 1);
    Config w = NODE.getConfig("kernelfarm.worker");
    long evaluation = Stream.of("load", "correctness", "anticheat", "timing")
        .mapToLong(stage -> w.getDuration("stage-timeouts." + stage).toSeconds()).sum();
    long needed = evaluation + w.getDuration("lease").toSeconds();
    assertTrue(worker.at("/spec/template/spec/terminationGracePeriodSeconds").asLong() >= needed,
        "grace period covers one evaluation and a lease: " + needed + " s");
    assertFalse(env(c).containsKey("KFARM_LLM_API_KEY"), "workers never hold the LLM key");
  }

  @Test
  void probesAnswerOnAManagedNode() throws Exception {
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    Path store = Files.createTempDirectory("kfarm-management");
    Config config = Node.config(TestNodes.overrides(Map.of(
        "kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm").toAbsolutePath(),
        "kernelfarm.management.enabled", "on",
        "pekko.management.http.port", port,
        "pekko.cluster.roles", List.of("coordinator")), 1));
    HttpClient http = HttpClient.newHttpClient();
    try (Node node = Node.start(config, new Node.Deps(Clock.systemUTC(), http, List.of()), true)) {
      for (String path : List.of("alive", "ready")) {
        TestProbe.create(node.system()).awaitAssert(Duration.ofSeconds(20), Duration.ofMillis(250), () -> {
          HttpResponse<String> r;
          try {
            r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/" + path)).build(),
                HttpResponse.BodyHandlers.ofString());
          } catch (Exception e) {
            throw new AssertionError(path + ": " + e.getMessage());
          }
          assertEquals(200, r.statusCode(), path + ": " + r.body());
          return null;
        });
      }
    }
  }

  private boolean mayListPods(String account) throws IOException {
    for (JsonNode binding : kind("RoleBinding")) {
      boolean bound = false;
      for (JsonNode subject : binding.path("subjects")) {
        bound |= account.equals(subject.path("name").asText());
      }
      String roleName = binding.at("/roleRef/name").asText();
      for (JsonNode role : kind("Role")) {
        if (bound && roleName.equals(role.at("/metadata/name").asText())) {
          for (JsonNode rule : role.path("rules")) {
            Set<String> verbs = new HashSet<>();
            rule.path("verbs").forEach(v -> verbs.add(v.asText()));
            if (rule.path("resources").toString().contains("\"pods\"") && verbs.contains("list")
                && verbs.contains("watch")) {
              return true;
            }
          }
        }
      }
    }
    return false;
  }

  /** Whether some source or config file of the node names this environment variable. */
  private static boolean readByTheCode(String variable) throws IOException {
    if (!variable.startsWith("KFARM_")) {
      return true;
    }
    for (String root : List.of("src/main", "../worker/src/main", "../protocol/src/main")) {
      try (Stream<Path> files = Files.walk(Path.of(root))) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          if (Files.readString(f).contains(variable)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  @Test
  void theManifestsNameNoSecretValues() throws IOException {
    for (JsonNode doc : documents()) {
      assertNotNull(doc.path("kind").asText());
      assertFalse(doc.toString().matches("(?s).*(sk-[A-Za-z0-9]{8,}|nvapi-[A-Za-z0-9]{8,}).*"), "no key inline");
    }
  }
}
