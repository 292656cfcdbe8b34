package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.net.http.HttpClient;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.llm.LlmEndpoint;
import org.apache.pekko.cluster.typed.Cluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code kfarm node}: one long-running cluster node. A worker node joins a running cluster to add its GPUs to the
 * farm; a coordinator node hosts campaigns' problems and the Dispatcher. It runs until stopped (SIGTERM or
 * Ctrl-C), then leaves the cluster; the candidates a worker held go back to the queue when their leases lapse.
 */
@Command(name = "node", mixinStandardHelpOptions = true,
    description = "Run a cluster node (coordinator, worker or both) until stopped.")
final class NodeCommand implements Callable<Integer> {
  @Mixin
  ClusterOptions cluster;

  @Mixin
  FarmOptions farm;

  @Mixin
  LlmOptions llm;

  @Override
  public Integer call() throws Exception {
    Config overrides = cluster.nodeOverrides(farm);
    List<LlmEndpoint> endpoints = cluster.plays("coordinator") ? llm.endpoints(new ObjectMapper()) : List.of();
    HttpClient http = HttpClient.newHttpClient();
    LlmOptions.warnUnreachable(endpoints, http, new ObjectMapper());
    Node node = Node.start(Node.config(overrides), new Node.Deps(Clock.systemUTC(), http, endpoints), true);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      node.close();
      stopped.countDown();
    }, "kfarm-node-stop"));
    System.out.printf("kfarm node %s up, roles %s%s%s%n", Cluster.get(node.system()).selfMember().address(),
        cluster.roles, endpoints.isEmpty() ? "" : ", LLM endpoints " + endpoints.stream()
            .map(e -> e.name() + " (" + e.model() + ", " + e.maxConcurrency() + " at once)").toList(),
        node.httpAddress().map(a -> ", API http://" + a.getHostString() + ":" + a.getPort() + "/api/v1/campaigns")
            .orElse(""));
    stopped.await();
    return 0;
  }
}
