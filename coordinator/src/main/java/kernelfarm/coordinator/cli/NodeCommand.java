package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.llm.LlmEndpoint;
import org.apache.pekko.cluster.typed.Cluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code kfarm node}: one long-running cluster node. A worker node joins a running cluster to add its GPUs to the
 * farm; a coordinator node hosts campaigns' problems and the Dispatcher. It runs until stopped (SIGTERM, Ctrl-C or
 * {@code kfarm node drain PID}), then drains and leaves the cluster: its GpuWorkers ask for no more work, hand back
 * the candidates they have not started and finish the one being evaluated.
 */
@Command(name = "node", mixinStandardHelpOptions = true, subcommands = NodeCommand.Drain.class,
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
    AtomicBoolean signalled = new AtomicBoolean();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      signalled.set(true);
      node.close();
      stopped.countDown();
    }, "kfarm-node-stop"));
    // A node the cluster downed (paused past the failure detector, cut off) has terminated its actor system and
    // can never rejoin as itself: exit, non-zero, so a supervisor (systemd, Kubernetes) starts a fresh one.
    node.system().getWhenTerminated().thenRun(stopped::countDown);
    System.out.printf("kfarm node %s up (pid %d), roles %s%s%s%s%n", Cluster.get(node.system()).selfMember().address(),
        ProcessHandle.current().pid(), cluster.roles, endpoints.isEmpty() ? "" : ", LLM endpoints " + endpoints.stream()
            .map(e -> e.name() + " (" + e.model() + ", " + e.maxConcurrency() + " at once)").toList(),
        node.httpAddress().map(a -> ", API http://" + a.getHostString() + ":" + a.getPort() + "/api/v1/campaigns")
            .orElse(""),
        node.metricsAddress().map(a -> ", metrics http://" + a.getHostString() + ":" + a.getPort() + "/metrics")
            .orElse(""));
    stopped.await();
    if (!signalled.get()) {
      System.err.println("kfarm node: the cluster removed this node (downed); exiting so a fresh one can join");
      return 1;
    }
    return 0;
  }

  /**
   * {@code kfarm node drain PID}: what an operator runs to take a node out of the farm. The node's coordinated
   * shutdown does the draining (WorkerNode); this sends it SIGTERM, as Kubernetes does, and waits until it is gone.
   */
  @Command(name = "drain", mixinStandardHelpOptions = true,
      description = "Drain a running kfarm node (the pid it printed) and wait until it has exited.")
  static final class Drain implements Callable<Integer> {
    @Parameters(index = "0", description = "the node's process id, as `kfarm node` printed it")
    long pid;

    @Option(names = "--wait", defaultValue = "PT10M",
        description = "how long to wait for the node to finish its evaluations and exit (ISO-8601, default PT10M)")
    Duration wait;

    @Override
    public Integer call() throws Exception {
      Optional<ProcessHandle> node = ProcessHandle.of(pid);
      if (node.isEmpty() || !node.get().isAlive()) {
        System.err.printf("kfarm node drain: no process %d; give the pid `kfarm node` printed%n", pid);
        return 2;
      }
      node.get().destroy(); // SIGTERM: the node's coordinated shutdown drains it
      System.out.printf("draining node %d (it finishes the evaluation in progress, hands back the rest)%n", pid);
      try {
        node.get().onExit().get(wait.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException stillThere) {
        System.err.printf("kfarm node drain: node %d still running after %s; it keeps draining (or kill -9 it)%n",
            pid, wait);
        return 1;
      }
      System.out.printf("node %d drained and exited%n", pid);
      return 0;
    }
  }
}
